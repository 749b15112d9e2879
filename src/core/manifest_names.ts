/**
 * The manifest's fixed names, apart from its zod schema in model.ts: the
 * archive worker needs these without loading zod (~20 ms of its start-up).
 */
export const MANIFEST_FORMAT = "volsnap/1";
export const MANIFEST_NAME = "volsnap.json";
