/** Every query on the templates and template_favorites tables. */
import { and, desc, eq, exists, getTableColumns, notExists, type SQL, sql } from "drizzle-orm";
import type { Db } from "./client";
import { type NewTemplateRow, type TemplateRow, templateFavorites, templates } from "./schema";

export async function findTemplate(db: Db, id: number): Promise<TemplateRow | undefined> {
	return db.select().from(templates).where(eq(templates.id, id)).get();
}

export type TemplateListRow = TemplateRow & { favorited: boolean };

export interface TemplateListQuery {
	/** Whose favorites to mark. */
	viewerId: number;
	/** Only templates with this is_audit; undefined for all (admins). */
	isAudit?: 0 | 1;
	offset: number;
	limit: number;
}

/**
 * Larger `sort` first, then newest. With an is_audit filter (every non-admin list) the rows
 * come straight from templates_listing walked backwards; the viewer's favorite is one primary
 * key lookup per row. OFFSET paging: the table is a catalogue curated by admins, not a log.
 */
export async function listTemplates(db: Db, query: TemplateListQuery): Promise<TemplateListRow[]> {
	const rows = await db
		.select({
			...getTableColumns(templates),
			favorited: sql<number>`${templateFavorites.userId} IS NOT NULL`,
		})
		.from(templates)
		.leftJoin(
			templateFavorites,
			and(eq(templateFavorites.templateId, templates.id), eq(templateFavorites.userId, query.viewerId)),
		)
		.where(query.isAudit === undefined ? undefined : eq(templates.isAudit, query.isAudit))
		.orderBy(desc(templates.sort), desc(templates.id))
		.limit(query.limit)
		.offset(query.offset)
		.all();
	return rows.map((row) => ({ ...row, favorited: Boolean(row.favorited) }));
}

export async function insertTemplate(db: Db, row: NewTemplateRow): Promise<TemplateRow> {
	return db.insert(templates).values(row).returning().get();
}

export type TemplateChanges = Partial<Omit<NewTemplateRow, "id" | "createdAt" | "favoriteCount">> & {
	updatedAt: number;
};

/**
 * Writes the changes only if the template is still as it was read (same updated_at), so two
 * admins editing at once cannot both replace a picture and leave one of the new ones orphaned.
 * Undefined when the template is gone or changed meanwhile.
 */
export async function updateTemplate(
	db: Db,
	id: number,
	readUpdatedAt: number,
	changes: TemplateChanges,
): Promise<TemplateRow | undefined> {
	return db
		.update(templates)
		.set(changes)
		.where(and(eq(templates.id, id), eq(templates.updatedAt, readUpdatedAt)))
		.returning()
		.get();
}

/** Deletes the template and its favorites in one batch; returns the deleted row. */
export async function deleteTemplate(db: Db, id: number): Promise<TemplateRow | undefined> {
	const [, deleted] = await db.batch([
		db.delete(templateFavorites).where(eq(templateFavorites.templateId, id)),
		db.delete(templates).where(eq(templates.id, id)).returning(),
	]);
	return deleted[0];
}

export interface FavoriteResult {
	favoriteCount: number;
}

function visibleTemplate(id: number, auditedOnly: boolean): SQL | undefined {
	return auditedOnly ? and(eq(templates.id, id), eq(templates.isAudit, 1)) : eq(templates.id, id);
}

const favoriteOf = (templateId: number, userId: number) =>
	and(eq(templateFavorites.templateId, templateId), eq(templateFavorites.userId, userId));

/** The user's favorite row of the template, as a subquery for exists() / notExists(). */
const favoriteRow = (db: Db, templateId: number, userId: number) =>
	db.select({ one: sql`1` }).from(templateFavorites).where(favoriteOf(templateId, userId));

/**
 * Marks the template as the user's favorite. One D1 batch (one transaction): the counter goes
 * up only while the user has no favorite row yet, then the row is written (its primary key
 * makes a second one impossible), then the count is read back. However many clicks arrive at
 * once, each user is counted once. Undefined when the template does not exist (or is not
 * audited, with `auditedOnly`).
 */
export async function favoriteTemplate(
	db: Db,
	templateId: number,
	userId: number,
	now: number,
	auditedOnly: boolean,
): Promise<FavoriteResult | undefined> {
	const visible = visibleTemplate(templateId, auditedOnly);
	const [, , current] = await db.batch([
		db
			.update(templates)
			.set({ favoriteCount: sql`${templates.favoriteCount} + 1` })
			.where(and(visible, notExists(favoriteRow(db, templateId, userId)))),
		db
			.insert(templateFavorites)
			.select(
				db
					.select({
						templateId: templates.id,
						userId: sql<number>`${userId}`.as("user_id"),
						createdAt: sql<number>`${now}`.as("created_at"),
					})
					.from(templates)
					.where(visible),
			)
			.onConflictDoNothing(),
		db.select({ favoriteCount: templates.favoriteCount }).from(templates).where(visible),
	]);
	return current[0];
}

/** The reverse of favoriteTemplate, in the same shape: down only while the user's row exists. */
export async function unfavoriteTemplate(
	db: Db,
	templateId: number,
	userId: number,
	auditedOnly: boolean,
): Promise<FavoriteResult | undefined> {
	const [, , current] = await db.batch([
		db
			.update(templates)
			.set({ favoriteCount: sql`${templates.favoriteCount} - 1` })
			.where(and(eq(templates.id, templateId), exists(favoriteRow(db, templateId, userId)))),
		db.delete(templateFavorites).where(favoriteOf(templateId, userId)),
		// Like favoriteTemplate, a template the caller may not see answers as unknown.
		db
			.select({ favoriteCount: templates.favoriteCount })
			.from(templates)
			.where(visibleTemplate(templateId, auditedOnly)),
	]);
	return current[0];
}
