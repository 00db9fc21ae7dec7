/** Admins only: the dashboard, channels and their health, banned words and their hits, users and their quota, everyone's tasks with filters. */
import { BannedWords } from "./banned-words";
import { Channels } from "./channels";
import { Dashboard } from "./dashboard";
import { AllTasks } from "./tasks";
import { Users } from "./users";

export function Admin() {
	return (
		<>
			<Dashboard />
			<Channels />
			<BannedWords />
			<Users />
			<AllTasks />
		</>
	);
}
