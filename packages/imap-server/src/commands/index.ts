/** The command table: one file per command, each declaring the states it may run in. */
import type { ImapCommand } from '../session.js';
import { append } from './append.js';
import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import { check } from './check.js';
import { close } from './close.js';
import { copy } from './copy.js';
import { create } from './create.js';
import { del } from './delete.js';
import { enable } from './enable.js';
import { examine } from './examine.js';
import { expunge } from './expunge.js';
import { fetch } from './fetch.js';
import { id } from './id.js';
import { idle } from './idle.js';
import { list } from './list.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { lsub } from './lsub.js';
import { move } from './move.js';
import { namespace } from './namespace.js';
import { noop } from './noop.js';
import { rename } from './rename.js';
import { search } from './search.js';
import { select } from './select.js';
import { starttls } from './starttls.js';
import { status } from './status.js';
import { store } from './store.js';
import { subscribe } from './subscribe.js';
import { uidCopy } from './uid-copy.js';
import { uidExpunge } from './uid-expunge.js';
import { uidFetch } from './uid-fetch.js';
import { uidMove } from './uid-move.js';
import { uidSearch } from './uid-search.js';
import { uidStore } from './uid-store.js';
import { unselect } from './unselect.js';
import { unsubscribe } from './unsubscribe.js';

const ALL: readonly ImapCommand[] = [
  capability,
  noop,
  logout,
  starttls,
  authenticate,
  login,
  select,
  examine,
  create,
  del,
  rename,
  subscribe,
  unsubscribe,
  list,
  lsub,
  status,
  append,
  check,
  close,
  expunge,
  search,
  fetch,
  store,
  copy,
  uidCopy,
  uidFetch,
  uidSearch,
  uidStore,
  uidExpunge,
  move,
  uidMove,
  idle,
  namespace,
  id,
  enable,
  unselect,
];

export const COMMANDS: ReadonlyMap<string, ImapCommand> = new Map(ALL.map((c) => [c.name, c]));
