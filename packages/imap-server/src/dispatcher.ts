/**
 * The one dispatcher: looks a command up, enforces the states it declares (`BAD` elsewhere), runs
 * it, maps whatever it threw with the one error mapping (`errors.ts`), sends the pending mailbox
 * updates (RFC 3501 §7: untagged responses before the tagged one), and writes the completion.
 */
import { COMMANDS } from './commands/index.js';
import { toCompletion } from './errors.js';
import { ParseError, type Token } from './protocol/index.js';
import type { Completion, Session } from './session.js';

/** Outcome the server acts on after the tagged response. */
export type DispatchOutcome = 'continue' | 'close';

const STATE_WORDS = {
  notAuthenticated: 'not authenticated',
  authenticated: 'authenticated',
  selected: 'selected',
  logout: 'logout',
} as const;

export async function dispatch(
  session: Session,
  cmd: { readonly tag: string; readonly name: string; readonly args: readonly Token[] },
): Promise<DispatchOutcome> {
  const command = COMMANDS.get(cmd.name);
  if (command === undefined) {
    return badCommand(session, cmd.tag, 'Unknown command');
  }
  if (!command.states.includes(session.state.s)) {
    return badCommand(
      session,
      cmd.tag,
      `${cmd.name} not allowed in the ${STATE_WORDS[session.state.s]} state`,
    );
  }
  const input = { tag: cmd.tag, name: cmd.name, args: cmd.args, uid: cmd.name.startsWith('UID ') };
  let completion: Completion;
  try {
    completion = (await command.run(session, input)) ?? {};
  } catch (err) {
    if (err instanceof ParseError) {
      if (err.status === 'BAD') return badCommand(session, cmd.tag, err.message, err.code);
      completion = { status: 'NO', text: err.message, ...(err.code ? { code: err.code } : {}) };
    } else {
      const mapped = toCompletion(err);
      if (mapped.serious) session.log.warn({ err, command: cmd.name }, 'command failed');
      else session.log.debug({ err, command: cmd.name }, 'command refused');
      if (mapped.status === 'BAD') return badCommand(session, cmd.tag, mapped.text, mapped.code);
      completion = { status: 'NO', text: mapped.text, ...(mapped.code ? { code: mapped.code } : {}) };
    }
  }
  if (session.host.closed) return 'close';
  await sendUpdates(session, command.expunges !== false, false);
  const status = completion.status ?? 'OK';
  // The limit is on bad commands in a row (as Dovecot counts): a valid one starts afresh, so a
  // client (or a compliance suite) that makes many separate mistakes is not cut off.
  if (status === 'BAD') session.badCommands++;
  else session.badCommands = 0;
  writeTagged(session, cmd.tag, status, completion.text ?? `${cmd.name} completed`, completion.code);
  if (completion.after) await completion.after();
  if (session.state.s === 'logout') return 'close';
  return tooManyBad(session) ? 'close' : 'continue';
}

/**
 * Sends what other sessions changed in the selected mailbox (RFC 3501 §7: the server may send
 * untagged updates with any command's response). Syncs when notified of a change or when `force`d.
 */
export async function sendUpdates(session: Session, expunges: boolean, force: boolean): Promise<void> {
  if (session.state.s !== 'selected') return;
  const box = session.state.box;
  if (!force && !box.dirty) return;
  try {
    for (const line of await box.sync({ expunges })) session.untagged(line);
  } catch (err) {
    session.log.warn({ err }, 'mailbox sync failed');
  }
}

export function writeTagged(
  session: Session,
  tag: string,
  status: 'OK' | 'NO' | 'BAD',
  text: string,
  code?: string,
): void {
  session.host.write(`${tag} ${status} ${code ? `[${code}] ` : ''}${cleanText(text)}\r\n`);
}

/** RFC 3501 §9 `text`: no CR, LF or NUL; keeps the response one line. */
export function cleanText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, ' ');
}

/** `BAD` completion (RFC 3501 §7.1.3); counts towards the bad-command limit. */
export function badCommand(session: Session, tag: string, text: string, code?: string): DispatchOutcome {
  session.badCommands++;
  writeTagged(session, tag, 'BAD', text, code);
  return tooManyBad(session) ? 'close' : 'continue';
}

function tooManyBad(session: Session): boolean {
  if (session.badCommands < session.config.limits.maxBadCommands) return false;
  session.untagged('BYE Too many invalid commands');
  session.log.info({ bad: session.badCommands }, 'too many bad commands');
  return true;
}
