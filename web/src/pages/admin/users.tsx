/** Users: the list (newest, most spent, or subs starting with…), a new user, and the one opened. */
import { useEffect, useState } from "preact/hooks";
import { admin, type Self } from "../../api";
import { roleName, t } from "../../i18n";
import { BusyButton, ErrorNote, formatTime, useAction } from "../../ui";
import { LoadMore, usePages } from "./shared";
import { UserCard } from "./user-card";

interface Query {
	q: string;
	order: "newest" | "spend";
}

/** A search by sub prefix (in sub order), or the whole list in the chosen order. */
const readUsers = (using: Query, cursor: string | null) => {
	const q = using.q.trim();
	return admin.users({ ...(q ? { q } : { order: using.order }), ...(cursor ? { cursor } : {}) });
};

export function Users() {
	const [query, setQuery] = useState<Query>({ q: "", order: "newest" });
	const [user, setUser] = useState<Self | null>(null);
	const list = usePages(readUsers);
	const { items, load } = list;
	const lookUp = useAction();

	useEffect(() => {
		void load(query, null);
	}, []);
	async function open(sub: string) {
		setUser((await lookUp.run(() => admin.user(sub))) ?? null);
	}
	function changed(next: Self) {
		setUser(next);
		list.setItems((current) => current?.map((item) => (item.sub === next.sub ? { ...item, ...next } : item)) ?? null);
	}

	return (
		<section class="panel" data-section="users">
			<h2>{t("users")}</h2>
			<NewUser
				onCreated={(created) => {
					setUser(created);
					void load(query, null);
				}}
			/>
			<form
				class="row"
				onSubmit={(event) => {
					event.preventDefault();
					void load(query, null);
				}}
			>
				<input
					name="q"
					aria-label={t("searchSubs")}
					placeholder={t("searchSubs")}
					maxLength={128}
					value={query.q}
					onInput={(event) => setQuery({ ...query, q: event.currentTarget.value })}
				/>
				<select
					name="order"
					aria-label={t("order")}
					value={query.order}
					disabled={query.q.trim() !== ""}
					onChange={(event) => {
						const using = { ...query, order: event.currentTarget.value as Query["order"] };
						setQuery(using);
						void load(using, null);
					}}
				>
					<option value="newest">{t("orderNewest")}</option>
					<option value="spend">{t("orderSpend")}</option>
				</select>
				<BusyButton type="submit" busy={list.busy}>
					{t("filter")}
				</BusyButton>
			</form>
			<ErrorNote error={list.error} />
			{items && items.length === 0 && <p class="hint">{t("noUsers")}</p>}
			{items && items.length > 0 && (
				<table class="fields" data-testid="user-list">
					<thead>
						<tr>
							<th>{t("userSub")}</th>
							<th>{t("role")}</th>
							<th>{t("quota")}</th>
							<th>{t("spent")}</th>
							<th>{t("tasksCount")}</th>
							<th>{t("state")}</th>
							<th>{t("createdAt")}</th>
						</tr>
					</thead>
					<tbody>
						{items.map((item) => (
							<tr key={item.sub} class={item.disabled ? "disabled" : ""}>
								<td>
									<button type="button" class="link" onClick={() => open(item.sub)}>
										{item.sub}
									</button>
								</td>
								<td data-field="role">{roleName(item.role)}</td>
								<td data-field="quota">{item.quota}</td>
								<td data-field="spent">{item.spent}</td>
								<td>{item.task_count}</td>
								<td data-field="state">{item.disabled ? t("disabled") : t("active")}</td>
								<td>{formatTime(item.created_at, "s")}</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
			<LoadMore next={list.next} busy={list.busy} onMore={(cursor) => load(query, cursor)} />
			<ErrorNote error={lookUp.error} />
			{user && <UserCard key={user.sub} user={user} onChange={changed} />}
		</section>
	);
}

function NewUser({ onCreated }: { onCreated: (user: Self) => void }) {
	const [form, setForm] = useState({ sub: "", role: "user" as "user" | "admin", quota: "0" });
	const create = useAction();
	async function submit(event: Event) {
		event.preventDefault();
		const created = await create.run(() =>
			admin.createUser({ sub: form.sub.trim(), role: form.role, quota: Number(form.quota) }),
		);
		if (created) {
			setForm({ sub: "", role: "user", quota: "0" });
			onCreated(created);
		}
	}
	return (
		<>
			<form class="row" onSubmit={submit} data-testid="new-user">
				<strong>{t("newUser")}</strong>
				<input
					name="new-sub"
					aria-label={t("userSub")}
					placeholder={t("userSub")}
					maxLength={128}
					required
					value={form.sub}
					onInput={(event) => setForm({ ...form, sub: event.currentTarget.value })}
				/>
				<select
					name="new-role"
					aria-label={t("role")}
					value={form.role}
					onChange={(event) => setForm({ ...form, role: event.currentTarget.value as "user" | "admin" })}
				>
					<option value="user">{t("role.user")}</option>
					<option value="admin">{t("role.admin")}</option>
				</select>
				<label class="inline">
					{t("startingQuota")}
					<input
						type="number"
						name="new-quota"
						min={0}
						value={form.quota}
						onInput={(event) => setForm({ ...form, quota: event.currentTarget.value })}
					/>
				</label>
				<BusyButton type="submit" busy={create.busy}>
					{t("createUser")}
				</BusyButton>
			</form>
			<ErrorNote error={create.error} />
		</>
	);
}
