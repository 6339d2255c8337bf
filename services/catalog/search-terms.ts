// Typo tolerance for search, as plain functions. PostgreSQL's full-text search matches stemmed
// words exactly, so a misspelt word ("shrit") matches nothing. Before searching, each query
// word that is not in the catalog's vocabulary (the words of every indexed product) is
// replaced by the closest vocabulary word, if one is close enough.
//
// Candidates come from the vocabulary by trigram similarity (pg_trgm, indexed); the choice
// among them is by edit distance counting a swap of two neighbours as one edit (optimal string
// alignment), because trigrams alone rank badly for the commonest typo, the swap: "shrit" is
// 0.2 similar to "shirt" but 0.44 to "shrimp".

/** Lower-case words of letters and digits, in order, duplicates kept. */
export function queryWords(text: string): string[] {
  return text.toLowerCase().normalize("NFC").match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Distinct words worth keeping in the vocabulary (2 to 40 characters, not only digits). */
export function searchWords(text: string): string[] {
  return [...new Set(queryWords(text).filter((w) => w.length >= 2 && w.length <= 40 && !/^\p{N}+$/u.test(w)))];
}

/** Words shorter than this are never corrected: too many short words are one edit apart. */
export const MIN_CORRECTABLE_LENGTH = 4;

/** Edits allowed for a word of `length` characters: 1 up to 7, then 2. */
export function maxEdits(length: number): number {
  return length < MIN_CORRECTABLE_LENGTH ? 0 : length <= 7 ? 1 : 2;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const s = [...a];
  const t = [...b];
  if (s.length === 0 || t.length === 0) return Math.max(s.length, t.length);
  let prev2: number[] = [];
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[t.length]!;
}

/**
 * The vocabulary word `word` most likely meant: fewest edits (within maxEdits), then the same
 * first letter (typos rarely hit it), then the more trigram-similar (candidates come in that
 * order), undefined if none is close enough.
 */
export function bestCorrection(word: string, candidates: readonly string[]): string | undefined {
  const limit = maxEdits([...word].length);
  let best: { word: string; edits: number; firstLetter: boolean } | undefined;
  for (const c of candidates) {
    if (c === word) return undefined; // known after all: nothing to correct
    const edits = editDistance(word, c);
    if (edits > limit) continue;
    const firstLetter = c[0] === word[0];
    if (!best || edits < best.edits || (edits === best.edits && firstLetter && !best.firstLetter)) best = { word: c, edits, firstLetter };
  }
  return best?.word;
}

/** The query with each unknown word replaced by its correction (words without one stay as typed). */
export function correctQuery(words: readonly string[], corrections: ReadonlyMap<string, string>): string[] {
  return words.map((w) => corrections.get(w) ?? w);
}
