/**
 * Rows a table loads between pauses when a snapshot restore stages it in slices (a few hundred
 * map inserts: well under a millisecond). Tables whose rows cost more to load (cloned config
 * entries, compiled prepared-query templates) pause every eighth of this.
 */
export const ROWS_PER_PAUSE = 512;
