/**
 * The web console: sign in with an API key or token, create tasks and watch them live, read a
 * task in full, manage keys and the webhook secret, and (admins) channels, quota and all tasks.
 * Hash routes (#/, #/task/{id}, #/account, #/admin) keep every page on the one asset GET / serves.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, account, credential, type Self } from "./api";
import { lang, setLang, t } from "./i18n";
import { Account } from "./pages/account";
import { Admin } from "./pages/admin";
import { Studio } from "./pages/studio";
import { TaskDetail } from "./pages/task-detail";
import { useSignal } from "./signal";
import { created, resetTasks } from "./task-store";
import { BusyButton, ErrorNote, useAction } from "./ui";
import "./styles.css";

type Route = { page: "studio" } | { page: "task"; id: string } | { page: "account" } | { page: "admin" };

function parseRoute(hash: string): Route {
	const [, page, id] = hash.replace(/^#/, "").split("/");
	if (page === "task" && id) return { page: "task", id: decodeURIComponent(id) };
	if (page === "account") return { page: "account" };
	if (page === "admin") return { page: "admin" };
	return { page: "studio" };
}

function useRoute(): Route {
	const [route, setRoute] = useState(parseRoute(location.hash));
	useEffect(() => {
		const update = () => setRoute(parseRoute(location.hash));
		addEventListener("hashchange", update);
		return () => removeEventListener("hashchange", update);
	}, []);
	return route;
}

function App() {
	useSignal(lang);
	const route = useRoute();
	const [self, setSelf] = useState<Self | null>(null);
	const [checking, setChecking] = useState(Boolean(credential.get()));
	const [error, setError] = useState<unknown>(null);

	// A stored credential is checked once on load; a refused one is forgotten.
	useEffect(() => {
		if (!credential.get()) return;
		account
			.self()
			.then(setSelf, (caught) => {
				if (caught instanceof ApiError && caught.kind === "auth") credential.clear();
				setError(caught);
			})
			.finally(() => setChecking(false));
	}, []);

	// Every submit is charged: keep the balance in the header current.
	const submits = useSignal(created);
	useEffect(() => {
		if (submits > 0) account.self().then(setSelf, () => undefined);
	}, [submits]);

	function signOut() {
		credential.clear();
		resetTasks();
		setSelf(null);
		location.hash = "#/";
	}

	const header = (
		<header class="top">
			<a class="brand" href="#/">
				mj-edge
			</a>
			{self && (
				<nav>
					<a href="#/" class={route.page === "studio" ? "active" : ""}>
						{t("studio")}
					</a>
					<a href="#/account" class={route.page === "account" ? "active" : ""}>
						{t("account")}
					</a>
					{self.role === "admin" && (
						<a href="#/admin" class={route.page === "admin" ? "active" : ""}>
							{t("admin")}
						</a>
					)}
				</nav>
			)}
			<span class="spacer" />
			{self && (
				<span class="who" title={self.sub}>
					<span class="sub">{self.sub} · </span>
					{t("quota")} <b data-field="header-quota">{self.quota}</b>
				</span>
			)}
			<button
				type="button"
				class="small"
				data-action="language"
				onClick={() => setLang(lang.get() === "zh" ? "en" : "zh")}
			>
				{t("language")}
			</button>
			{self && (
				<button type="button" class="small" data-action="sign-out" onClick={signOut}>
					{t("signOut")}
				</button>
			)}
		</header>
	);

	let body = null;
	if (checking) body = <p class="hint">{t("checking")}</p>;
	else if (!self) body = <SignIn onSignedIn={setSelf} initialError={error} />;
	// Keyed by id: another task's page starts afresh, never showing the last one it read.
	else if (route.page === "task") body = <TaskDetail key={route.id} id={route.id} />;
	else if (route.page === "account") body = <Account self={self} onSelf={setSelf} />;
	else if (route.page === "admin" && self.role === "admin") body = <Admin />;
	else body = <Studio />;

	return (
		<>
			{header}
			<main>{body}</main>
		</>
	);
}

function SignIn({ onSignedIn, initialError }: { onSignedIn: (self: Self) => void; initialError: unknown }) {
	const [value, setValue] = useState("");
	const action = useAction();
	async function submit(event: Event) {
		event.preventDefault();
		credential.set(value);
		const self = await action.run(account.self);
		if (self) onSignedIn(self);
		else credential.clear();
	}
	return (
		<section class="panel sign-in">
			<h1>{t("title")}</h1>
			<p class="hint">{t("signInHint")}</p>
			<form onSubmit={submit}>
				<input
					name="credential"
					type="password"
					autoComplete="off"
					aria-label={t("credential")}
					placeholder={t("credential")}
					required
					value={value}
					onInput={(event) => setValue(event.currentTarget.value)}
				/>
				<BusyButton type="submit" class="primary" busy={action.busy} busyLabel={t("checking")}>
					{t("signIn")}
				</BusyButton>
			</form>
			<ErrorNote error={action.error ?? initialError} />
		</section>
	);
}

document.documentElement.lang = lang.get() === "zh" ? "zh-CN" : "en";
const root = document.getElementById("app");
if (root) render(<App />, root);
