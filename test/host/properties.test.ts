import { describe, expect, it } from 'vitest';
import { formatProperty, parseProperties, setProperties } from '../../src/host/properties';
import { displayValue, isSecretKey, redactedValue } from '../../src/host/propertiesSecrets';

describe('parseProperties (java.util.Properties rules)', () => {
  it('handles comments, separators, whitespace, continuations and escapes', () => {
    const text = [
      '# a comment',
      '   ! another comment',
      '',
      'a=1',
      'b : 2',
      'c 3',
      '  d=  spaced value  ',
      'e=first \\',
      '    second \\',
      '   third',
      'f=tab\\there\\nnewline \\u00e9',
      'g\\ key\\=x=y',
      'h=ends with escaped backslash \\\\',
      'i=',
      'j',
      'a=again',
    ].join('\n');
    const p = parseProperties(text);
    expect(Object.fromEntries(p.values)).toEqual({
      a: 'again',
      b: '2',
      c: '3',
      d: 'spaced value  ',
      e: 'first second third',
      f: 'tab\there\nnewline é',
      'g key=x': 'y',
      h: 'ends with escaped backslash \\',
      i: '',
      j: '',
    });
    expect(p.duplicates).toEqual(['a']);
    const e = p.entries.find((x) => x.key === 'e')!;
    expect([e.firstLine, e.lastLine]).toEqual([7, 9]);
  });

  it('keeps CRLF files CRLF', () => {
    const p = parseProperties('a=1\r\nb=2\r\n');
    expect(p.eol).toBe('\r\n');
    expect(setProperties('a=1\r\nb=2\r\n', { b: '3' })).toBe('a=1\r\nb=3\r\n');
  });
});

describe('setProperties', () => {
  const file = ['# broker', 'broker.id=1', 'listeners=PLAINTEXT://a:1 \\', '  ,SSL://a:2', '# keep me', 'log.dirs=/x', ''].join('\n');

  it('rewrites keys in place (continuations included), appends new ones, removes with undefined, keeps comments', () => {
    const out = setProperties(file, { 'broker.id': '7', listeners: 'PLAINTEXT://b:1', 'new.key': 'v w', 'log.dirs': undefined });
    expect(out).toBe(['# broker', 'broker.id=7', 'listeners=PLAINTEXT://b:1', '# keep me', 'new.key=v w', ''].join('\n'));
    expect(Object.fromEntries(parseProperties(out).values)).toEqual({ 'broker.id': '7', listeners: 'PLAINTEXT://b:1', 'new.key': 'v w' });
  });

  it('escapes what the parser would otherwise misread, and round-trips', () => {
    const cases: [string, string][] = [
      ['k=ey', ' leading space'],
      ['k:ey #x', 'back\\slash\tand é'],
    ];
    for (const [k, v] of cases) {
      expect(Object.fromEntries(parseProperties(formatProperty(k, v)).values)).toEqual({ [k]: v });
    }
    expect(formatProperty('a', 'é')).toBe('a=\\u00e9');
  });
});

describe('secret redaction', () => {
  it('recognises secret keys', () => {
    for (const k of ['sasl.jaas.config', 'listener.name.sasl_ssl.plain.sasl.jaas.config', 'ssl.keystore.password', 'ssl.key.password', 'ssl.keystore.key', 'sasl.client.secret', 'password']) {
      expect(isSecretKey(k), k).toBe(true);
    }
    for (const k of ['broker.id', 'listeners', 'log.dirs', 'ssl.keystore.location', 'zookeeper.connect', 'key.serializer']) expect(isSecretKey(k), k).toBe(false);
  });

  it('shows a short hash instead of the value, different when the value differs', () => {
    const a = displayValue('ssl.key.password', 'hunter2')!;
    expect(a).toMatch(/^<redacted sha256:[0-9a-f]{8}>$/);
    expect(a).not.toContain('hunter2');
    expect(a).toBe(redactedValue('ssl.key.password', 'hunter2'));
    expect(displayValue('ssl.key.password', 'hunter3')).not.toBe(a);
    expect(displayValue('broker.id', '1')).toBe('1');
  });
});
