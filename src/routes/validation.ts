/**
 * The @hono/zod-validator hook of the JSON endpoints: the first issue becomes a 400 through
 * the one error path, so it renders in the route's envelope (`field: reason`).
 */
import { badRequest } from "../errors";

export const invalid = (result: {
	success: boolean;
	error?: { issues: { message: string; path: PropertyKey[] }[] };
}): void => {
	if (!result.success) {
		const issue = result.error?.issues[0];
		const field = issue?.path.join(".");
		throw badRequest(issue ? (field ? `${field}: ${issue.message}` : issue.message) : "invalid request");
	}
};
