/** Every query on the templates and template_favorites tables. */
import { eq } from "drizzle-orm";
import type { Db } from "./client";
import { type TemplateRow, templates } from "./schema";

export async function findTemplate(db: Db, id: number): Promise<TemplateRow | undefined> {
	return db.select().from(templates).where(eq(templates.id, id)).get();
}
