#!/usr/bin/env node
/**
 * Fails when a file of src/ imports from a floor above its own (type-only imports count), or
 * reads the clock, the network or chance itself: `Date.now`, `new Date()`, the global `fetch`,
 * `Math.random`, `crypto.randomUUID` and `crypto.getRandomValues` belong to src/deps.ts, and
 * everything else takes them from `Deps` (so tests drive every entry the same way).
 * The floors are the README's ("Architecture"); a folder may import its own floor and any floor
 * below it. Imports are read with the TypeScript compiler, so comments and strings never count.
 * Run: node scripts/check-layers.mjs (CI runs it from .ci/run and npm run lint).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/** Top floor first. A name is a folder of src/ or a file at its root (without .ts). */
const FLOORS = [
	["index", "app"], // entry and the mount table
	["routes", "openapi", "durable", "queue", "cron"], // surfaces | orchestration
	["tasks", "live", "hooks"], // the rules: states, charges, views, events, callbacks, queue messages
	["upstream", "images", "net", "auth", "discord", "translate"], // the edges
	["db"], // the schema and every query
	["errors", "time", "config", "log", "deps", "context", "vocabulary", "encoding"], // the ground floor
];

/** The clock, the network and chance: only src/deps.ts reads them (owner name -> members). */
const AMBIENT = new Map([
	["Date", ["now"]],
	["globalThis", ["fetch"]],
	["Math", ["random"]],
	["crypto", ["randomUUID", "getRandomValues"]],
]);

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const src = join(root, "src");
const floorOf = new Map(FLOORS.flatMap((names, floor) => names.map((name) => [name, floor])));

function* sourceFiles(dir) {
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) yield* sourceFiles(path);
		else if (entry.name.endsWith(".ts")) yield path;
	}
}

/** Every module specifier (import/export ... from, import("..."), import types) and every use of the ambient clock or network. */
function readFile(file, text) {
	const found = [];
	const ambient = [];
	const where = (node) => `line ${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
	const visit = (node) => {
		if (ts.isPropertyAccessExpression(node)) {
			// `crypto.randomUUID` and `globalThis.crypto.randomUUID` alike: the name before the last dot.
			const owner = ts.isIdentifier(node.expression)
				? node.expression.text
				: ts.isPropertyAccessExpression(node.expression)
					? node.expression.name.text
					: undefined;
			if (owner && AMBIENT.get(owner)?.includes(node.name.text)) {
				ambient.push(`${owner}.${node.name.text} (${where(node)})`);
			}
		} else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "fetch") {
			ambient.push(`the global fetch (${where(node)})`);
		} else if (
			ts.isNewExpression(node) &&
			ts.isIdentifier(node.expression) &&
			node.expression.text === "Date" &&
			(node.arguments?.length ?? 0) === 0
		) {
			ambient.push(`new Date() (${where(node)})`);
		}
		if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
			found.push(node.moduleSpecifier.text);
		} else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
			found.push(node.argument.literal.text);
		} else if (
			ts.isCallExpression(node) &&
			node.expression.kind === ts.SyntaxKind.ImportKeyword &&
			node.arguments[0] &&
			ts.isStringLiteral(node.arguments[0])
		) {
			found.push(node.arguments[0].text);
		}
		ts.forEachChild(node, visit);
	};
	const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
	visit(source);
	return { specifiers: found, ambient };
}

const roomOf = (path) => relative(src, path).split("/")[0].replace(/\.ts$/, "");
const problems = [];

for (const file of sourceFiles(src)) {
	const from = roomOf(file);
	const fromFloor = floorOf.get(from);
	const name = relative(root, file);
	if (fromFloor === undefined) {
		problems.push(`${name}: src/${from} has no floor; add it to FLOORS in scripts/check-layers.mjs and the README`);
		continue;
	}
	const { specifiers, ambient } = readFile(file, readFileSync(file, "utf8"));
	if (name !== "src/deps.ts") {
		for (const use of ambient) problems.push(`${name}: uses ${use}; take it from Deps (src/deps.ts)`);
	}
	for (const spec of specifiers) {
		if (!spec.startsWith(".")) continue;
		const target = resolve(dirname(file), spec);
		if (!target.startsWith(`${src}/`)) {
			problems.push(`${name}: imports ${spec}, outside src/`);
			continue;
		}
		const to = roomOf(target);
		const toFloor = floorOf.get(to);
		if (toFloor === undefined || toFloor < fromFloor) {
			problems.push(
				`${name}: ${from} (floor ${FLOORS.length - fromFloor}) imports ${spec} (${to}, floor ${toFloor === undefined ? "none" : FLOORS.length - toFloor}): an import points up`,
			);
		}
	}
}

if (problems.length > 0) {
	console.error(problems.join("\n"));
	console.error(
		`\n${problems.length} problem(s); the floors are in scripts/check-layers.mjs and README.md (Architecture).`,
	);
	process.exit(1);
}
