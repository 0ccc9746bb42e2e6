/**
 * Container names: docker's grammar, and a generated `adjective_noun` name when none is given
 * (word lists of our own; a number is appended if the pair is taken).
 */
import { randomInt } from 'node:crypto';
import { TsdError } from '../../../shared/errors.js';

const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** A name as given (`x` or `/x`), checked, without the slash. */
export function checkContainerName(input: string): string {
  const name = input.startsWith('/') ? input.slice(1) : input;
  if (!namePattern.test(name)) throw new TsdError('INVALID_ARGUMENT', `Invalid container name (${input}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name;
}

const adjectives = [
  'amber', 'brave', 'calm', 'clever', 'cosmic', 'crisp', 'daring', 'eager', 'fancy', 'gentle', 'glad', 'happy', 'honest', 'jolly',
  'keen', 'kind', 'lively', 'lucid', 'merry', 'mighty', 'nimble', 'noble', 'patient', 'plucky', 'proud', 'quiet', 'rapid', 'serene',
  'sharp', 'shiny', 'silent', 'smooth', 'steady', 'sunny', 'swift', 'tender', 'tidy', 'vivid', 'warm', 'witty', 'zealous',
];

const nouns = [
  'anchor', 'aurora', 'badger', 'beacon', 'cedar', 'comet', 'condor', 'coral', 'delta', 'ember', 'falcon', 'fjord', 'galaxy', 'glacier',
  'harbor', 'heron', 'island', 'jaguar', 'kestrel', 'lagoon', 'lantern', 'maple', 'meadow', 'nebula', 'orbit', 'otter', 'pebble',
  'pine', 'quartz', 'raven', 'reef', 'sparrow', 'summit', 'tundra', 'valley', 'walrus', 'willow', 'yak', 'zenith',
];

/** A free generated name (`taken` says whether one is in use). */
export function generateName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    const base = `${adjectives[randomInt(adjectives.length)]}_${nouns[randomInt(nouns.length)]}`;
    const name = attempt < 10 ? base : `${base}${randomInt(10)}`;
    if (!taken(name)) return name;
  }
}
