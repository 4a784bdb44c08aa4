/**
 * Typed failures of the store and other seams. Each protocol maps `StoreError['code']` with one
 * exhaustive switch (see STYLE.md §4); clients see generic text, the details go to the log.
 */
export type StoreErrorCode =
  | 'NOT_FOUND'
  | 'EXISTS'
  | 'NO_QUOTA'
  | 'TOO_BIG'
  | 'IN_USE'
  | 'TEMP'
  | 'EXPUNGED'
  | 'INVALID_NAME'
  | 'CANNOT'
  | 'NO_SPACE';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string = code,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}

/** Maps an fs error to the store's vocabulary: ENOSPC/EDQUOT → NO_SPACE, the rest → TEMP. */
export function storeErrorFromFs(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new StoreError('NO_SPACE', `${what}: ${code}`, { cause: err });
  if (code === 'ENOENT') return new StoreError('NOT_FOUND', `${what}: ENOENT`, { cause: err });
  return new StoreError('TEMP', `${what}: ${code ?? String(err)}`, { cause: err });
}
