import { describe, expect, it } from "vitest";
import { surfaceForPath } from "../../src/app";

describe("surfaceForPath (the mount table)", () => {
	it.each([
		["/api/v1", "seed002"],
		["/api/v1/task/list", "seed002"],
		["/api/v10", "plain"],
		["/api/mj", "seed001"],
		["/api/admin/channels/1", "seed001"],
		["/api/user/self", "seed001"],
		["/userAlbum/create", "album"],
		["/imageTemp/list", "album"],
		["/mj/image/abc", "proxy"],
		["/mj/submit/imagine", "proxy"],
		["/mj-fast/mj/task/1/fetch", "proxy"],
		["/mj-relax/mj", "proxy"],
		["/mj-turbo/mj/submit/imagine", "proxy"],
		["/mjx", "plain"],
		["/health", "plain"],
	])("%s is %s", (path, surface) => {
		expect(surfaceForPath(path)).toBe(surface);
	});
});
