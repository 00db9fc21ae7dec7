/**
 * Image and video URLs an upstream hands over are fetched (copied to R2, or streamed until the
 * copy exists) under the same URL policy as client URLs: an upstream is not trusted to point the
 * gateway at a private address. The one exception is the task's own channel: an admin who set a
 * private base_url has said that origin may be reached, so media served from it is allowed.
 */

import { config } from "../config";
import { findChannel } from "../db/channels";
import { getDb } from "../db/client";
import type { Fetch } from "../deps";
import { discordFetch } from "../discord/fetcher";
import { upstreamFetch } from "../upstream/fetcher";
import { fetchPublic } from "./fetch-public";

export interface UpstreamMediaOptions {
	/** The task's channel, whose base_url origin is trusted; null when unknown. */
	channelId: number | null | undefined;
	/** Names the URL in refusals; "imageUrl" unless given. */
	field?: string;
	signal?: AbortSignal;
	/** The network (Deps.fetch); simulator URLs are sent to its binding here. */
	fetch: Fetch;
}

/**
 * Fetches a media URL the upstream of `options.channelId` reported, under the URL policy with that
 * channel's origin trusted. Throws UrlRefusedError when the URL or a redirect target is refused.
 */
export async function fetchUpstreamMedia(env: Env, url: string, options: UpstreamMediaOptions): Promise<Response> {
	const { channelId } = options;
	// Outside production nothing is refused for its address, so the channel is not needed.
	const channel = config(env).production && channelId != null ? await findChannel(getDb(env.DB), channelId) : undefined;
	return fetchPublic(
		url,
		{ signal: options.signal },
		{
			env,
			// The simulator's and the fake Discord's URLs go to their bindings where those run.
			fetch: discordFetch(env, upstreamFetch(env, options.fetch)),
			field: options.field ?? "imageUrl",
			trustedOrigin: channel?.baseUrl,
		},
	);
}
