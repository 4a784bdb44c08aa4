/**
 * The IMAP session state machine (RFC 3501 §3): NOT AUTHENTICATED → AUTHENTICATED ⇄ SELECTED →
 * LOGOUT. The state is a discriminated union; each command declares the states it may run in and
 * the dispatcher (`dispatcher.ts`) enforces them. A session knows nothing of sockets: the server
 * gives it a `SessionHost` to write to and read raw lines from.
 */
import {
  type Authenticator,
  isLoopbackAddress,
  type Log,
  type MailAccount,
  type MailStore,
} from '@yubin/core';
import { capabilities } from './capability.js';
import type { ImapLimits } from './limits.js';
import type { Token } from './protocol/index.js';
import type { SelectedView } from './selected-view.js';

export type ImapState =
  | { readonly s: 'notAuthenticated' }
  | { readonly s: 'authenticated'; readonly user: string; readonly account: MailAccount }
  | {
      readonly s: 'selected';
      readonly user: string;
      readonly account: MailAccount;
      readonly box: SelectedView;
    }
  | { readonly s: 'logout' };

export type StateName = ImapState['s'];

/** What the server gives a session: an output with backpressure and raw line input. */
export interface SessionHost {
  /** Queues output. Strings are written as UTF-8. */
  write(data: string | Buffer): void;
  /** Resolves when the socket's buffer has room again (or the socket closed). */
  drain(): Promise<void>;
  /** The next raw CRLF-terminated line (IDLE `DONE`, AUTHENTICATE responses); null on close. */
  readLine(): Promise<string | null>;
  /** RFC 3501 §6.2.1: upgrades the connection to TLS, discarding any pipelined plaintext. */
  startTls(): Promise<void>;
  /** Drops the connection at once (framing can no longer be kept, e.g. a literal cut short). */
  abort(): void;
  readonly closed: boolean;
}

/** Settings shared by every session of a server. */
export interface SessionConfig {
  readonly store: MailStore;
  readonly authenticator: Authenticator;
  readonly hostname: string;
  readonly limits: ImapLimits;
  readonly tlsAvailable: boolean;
  readonly allowPlaintextAuth: boolean;
}

/** One parsed command as the dispatcher hands it to a command's `run`. */
export interface CommandInput {
  readonly tag: string;
  /** Upper-case; `UID FETCH` etc. joined with one space. */
  readonly name: string;
  readonly args: readonly Token[];
  /** The command came as `UID <verb>` (RFC 3501 §6.4.8). */
  readonly uid: boolean;
}

/** How a command completes. Defaults: `OK`, `<NAME> completed`. */
export interface Completion {
  readonly status?: 'OK' | 'NO' | 'BAD';
  /** Response code without brackets (`READ-WRITE`, `APPENDUID 1 2`). */
  readonly code?: string;
  readonly text?: string;
  /** Runs after the tagged response is written (STARTTLS negotiates here). */
  readonly after?: () => Promise<void>;
}

/**
 * One IMAP command (one file in `commands/`): its name, the states it may run in (RFC 3501 §6:
 * "Valid states"), and whether EXPUNGE responses may be sent while it runs (RFC 3501 §7.4.1).
 */
export interface ImapCommand {
  readonly name: string;
  readonly states: readonly StateName[];
  /** False for FETCH, STORE, SEARCH and their UID forms: expunges are held back (RFC 3501 §7.4.1). */
  readonly expunges?: boolean;
  run(session: Session, input: CommandInput): Promise<Completion | undefined>;
}

export class Session {
  state: ImapState = { s: 'notAuthenticated' };
  /** RFC 5161 ENABLE: extensions the client turned on. */
  readonly enabled = new Set<string>();
  /** RFC 5182: the UIDs saved by `SEARCH RETURN (SAVE)`, referenced as `$`. */
  savedUids: readonly number[] | undefined;
  badCommands = 0;
  authFailures = 0;
  secure: boolean;
  /** RFC 2177: an IDLE is in progress (autologout still applies, RFC 3501 §5.4). */
  idling = false;

  constructor(
    readonly config: SessionConfig,
    readonly host: SessionHost,
    readonly log: Log,
    readonly connection: { readonly remoteAddress: string; readonly secure: boolean; readonly id: string },
  ) {
    this.secure = connection.secure;
  }

  /** RFC 3501 §6.2.3: plaintext passwords only over TLS or loopback unless configured otherwise. */
  get authAllowed(): boolean {
    return this.secure || this.config.allowPlaintextAuth || isLoopbackAddress(this.connection.remoteAddress);
  }

  capabilities(): string[] {
    return capabilities({
      secure: this.secure,
      tlsAvailable: this.config.tlsAvailable,
      authAllowed: this.authAllowed,
      authenticated: this.state.s === 'authenticated' || this.state.s === 'selected',
      appendLimit: this.config.limits.appendLimit,
    });
  }

  /** Writes `* text`. */
  untagged(text: string): void {
    this.host.write(`* ${text}\r\n`);
  }

  /** The account of an authenticated or selected session. */
  account(): MailAccount {
    const st = this.state;
    if (st.s === 'authenticated' || st.s === 'selected') return st.account;
    throw new Error('no account in this state');
  }

  user(): string {
    const st = this.state;
    if (st.s === 'authenticated' || st.s === 'selected') return st.user;
    throw new Error('no user in this state');
  }

  /** The selected mailbox; the dispatcher guarantees the state for SELECTED-only commands. */
  box(): SelectedView {
    if (this.state.s !== 'selected') throw new Error('no mailbox selected');
    return this.state.box;
  }

  /** NOT AUTHENTICATED → AUTHENTICATED. */
  async login(user: string): Promise<void> {
    const account = this.config.store.account(user);
    await account.ensure();
    this.state = { s: 'authenticated', user, account };
  }

  /** SELECTED → AUTHENTICATED (RFC 3501 §6.3.1: a failed or new SELECT deselects first). */
  async deselect(): Promise<void> {
    const st = this.state;
    if (st.s !== 'selected') return;
    this.state = { s: 'authenticated', user: st.user, account: st.account };
    this.savedUids = undefined;
    await st.box.close();
  }

  /** AUTHENTICATED → SELECTED. */
  enter(box: SelectedView): void {
    const st = this.state;
    if (st.s !== 'authenticated') throw new Error('select from the authenticated state only');
    this.state = { s: 'selected', user: st.user, account: st.account, box };
  }

  /** Any state → LOGOUT; releases the selected mailbox. */
  async logout(): Promise<void> {
    await this.deselect().catch(() => {});
    this.state = { s: 'logout' };
  }
}
