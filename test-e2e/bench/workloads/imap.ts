import type { Ctx } from './context.js';
export async function imapWorkloads(_ctx: Ctx): Promise<void> {}
