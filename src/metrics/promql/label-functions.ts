import { RE2JS, RE2JSException } from 're2js';
import { LABEL_NAME_PATTERN } from '../sample.js';
import { PromqlError, type InstantVector, type Labels } from './values.js';

const LABEL_NAME = new RegExp(LABEL_NAME_PATTERN);

/** Go's Regexp.ExpandString: $1, ${1}, $name, ${name} and $$; a group that did not take part is empty. */
function expand(template: string, group: (name: string) => string): string {
  let out = '';
  for (let index = 0; index < template.length; index += 1) {
    const char = template[index];
    if (char !== '$') {
      out += char;
      continue;
    }
    const next = template[index + 1];
    if (next === '$') {
      out += '$';
      index += 1;
      continue;
    }
    const braced = next === '{' ? /^\{([A-Za-z0-9_]+)\}/.exec(template.slice(index + 1)) : null;
    const bare = braced === null ? /^[A-Za-z0-9_]+/.exec(template.slice(index + 1)) : null;
    const name = braced?.[1] ?? bare?.[0];
    if (name === undefined) {
      // Malformed: the $ is kept as text, as Go does.
      out += '$';
      continue;
    }
    out += group(name);
    index += (braced?.[0] ?? bare?.[0] ?? '').length;
  }
  return out;
}

function withLabel(labels: Labels, name: string, value: string): Labels {
  const { [name]: _old, ...rest } = labels;
  return value === '' ? rest : { ...rest, [name]: value };
}

/** label_replace(v, dst, replacement, src, regex): RE2, fully anchored; a series whose src does not match is left as it is. */
export function labelReplace(input: InstantVector, destination: string, replacement: string, source: string, regex: string): InstantVector {
  let pattern: RE2JS;
  try {
    pattern = RE2JS.compile(`^(?:${regex})$`);
  } catch (error) {
    if (error instanceof RE2JSException) throw new PromqlError('execution', `invalid regular expression in label_replace(): ${regex}`);
    throw error;
  }
  if (!LABEL_NAME.test(destination)) throw new PromqlError('execution', `invalid destination label name in label_replace(): ${destination}`);
  return {
    kind: 'vector',
    samples: input.samples.map((sample) => {
      const matcher = pattern.matcher(sample.labels[source] ?? '');
      if (!matcher.matches()) return sample;
      const group = (name: string) => {
        try {
          return (/^[0-9]+$/.test(name) ? matcher.group(Number(name)) : matcher.group(name)) ?? '';
        } catch {
          return '';
        }
      };
      return { labels: withLabel(sample.labels, destination, expand(replacement, group)), value: sample.value };
    }),
  };
}

/** label_join(v, dst, separator, src...): the source values joined; an empty result removes dst. */
export function labelJoin(input: InstantVector, destination: string, separator: string, sources: string[]): InstantVector {
  if (!LABEL_NAME.test(destination)) throw new PromqlError('execution', `invalid destination label name in label_join(): ${destination}`);
  return { kind: 'vector', samples: input.samples.map((sample) => ({ labels: withLabel(sample.labels, destination, sources.map((name) => sample.labels[name] ?? '').join(separator)), value: sample.value })) };
}
