#!/usr/bin/env node
/**
 * Fails when a test patches a global the gateway reads: an assignment to `globalThis.<name>`,
 * `Object.defineProperty(globalThis, …)`, `vi.stubGlobal`, `vi.spyOn` on globalThis, crypto,
 * Math or Date, and fake timers (`vi.useFakeTimers`, `vi.setSystemTime`). Tests hand the gateway
 * their network, clock and chance through Deps instead (test/helpers/deps.ts: useFetch, useDeps),
 * which reach requests, consumers, the cron and Durable Objects alike. Spying on console (to read
 * what was logged) is allowed. Read with the TypeScript compiler, so comments and strings never count.
 * Run: node scripts/check-test-patches.mjs (npm run lint runs it).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const GLOBAL_OWNERS = new Set(["globalThis", "self", "crypto", "Math", "Date"]);
const FAKE_TIME = new Set(["useFakeTimers", "setSystemTime", "stubGlobal"]);

function* testFiles(dir) {
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) yield* testFiles(path);
		else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) yield path;
	}
}

/** `globalThis`, `self`, or `globalThis.crypto`-like access rooted at one of them. */
function isGlobalObject(node) {
	return ts.isIdentifier(node) && (node.text === "globalThis" || node.text === "self");
}

function patchesIn(file) {
	const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
	const found = [];
	const at = (node, what) =>
		found.push(`${what} (line ${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1})`);
	const visit = (node) => {
		if (
			ts.isBinaryExpression(node) &&
			node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
			(ts.isPropertyAccessExpression(node.left) || ts.isElementAccessExpression(node.left)) &&
			isGlobalObject(node.left.expression)
		) {
			at(node, `assigns ${node.left.getText(source)}`);
		} else if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
			const { expression: owner, name } = node.expression;
			const first = node.arguments[0];
			if (ts.isIdentifier(owner) && owner.text === "vi" && FAKE_TIME.has(name.text)) {
				at(node, `calls vi.${name.text}`);
			} else if (
				ts.isIdentifier(owner) &&
				owner.text === "vi" &&
				name.text === "spyOn" &&
				first &&
				ts.isIdentifier(first) &&
				GLOBAL_OWNERS.has(first.text)
			) {
				at(node, `spies on ${first.text}`);
			} else if (
				ts.isIdentifier(owner) &&
				owner.text === "Object" &&
				(name.text === "defineProperty" || name.text === "assign") &&
				first &&
				isGlobalObject(first)
			) {
				at(node, `calls Object.${name.text} on ${first.getText(source)}`);
			}
		}
		ts.forEachChild(node, visit);
	};
	visit(source);
	return found;
}

const problems = [];
for (const file of testFiles(join(root, "test"))) {
	for (const patch of patchesIn(file)) problems.push(`${relative(root, file)}: ${patch}`);
}

if (problems.length > 0) {
	console.error(problems.join("\n"));
	console.error(
		`\n${problems.length} global patch(es) in test/: give the gateway its fetch, clock or chance through Deps instead (test/helpers/deps.ts: useFetch, useDeps).`,
	);
	process.exit(1);
}
