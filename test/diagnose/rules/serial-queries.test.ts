import { describe, expect, it } from 'vitest';
import { serialQueries } from '../../../scripts/diagnose/rules/serial-queries.js';
import { TraceBuilder } from '../builder.js';

describe('rule: serial independent queries', () => {
  it('finds reads of different statements awaited one after another, priced at sum − max', () => {
    const t = new TraceBuilder();
    t.requests(10, 'GET', '/api/articles/:slug', 1000, 60, (r) => {
      r.query('SELECT * FROM articles WHERE slug = $1', 1, 10);
      r.query('SELECT * FROM users WHERE id = $1', 12, 8);
      r.query('SELECT t.name FROM tags t JOIN article_tags a ON a.tag_id = t.id WHERE a.article_id = $1', 21, 6);
      r.query('SELECT count(*) FROM favorites WHERE article_id = $1', 28, 4);
    }, () => '/api/articles/how-to-x');
    const [f, ...rest] = serialQueries.detect(t.input());
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'serial-independent-queries', route: 'GET /api/articles/:slug', savingMsPerRequest: 18 });
    expect(f!.evidence).toMatchObject({ wavesPerRequest: 4, serialMs: 28, longestMs: 10, requestsAffected: 10 });
    expect(f!.title).toContain('awaits 4 database reads one after another');
  });

  it('leaves out writes, reads in a transaction, N+1 repeats, reads run together, and two reads in a row', () => {
    const t = new TraceBuilder();
    // a transaction: one connection runs them in turn
    t.requests(10, 'POST', '/articles', 1000, 60, (r) => {
      r.query('BEGIN', 0, 1);
      r.query('SELECT id FROM users WHERE id = $1', 2, 5);
      r.query('SELECT id FROM tags WHERE name = $1', 8, 5);
      r.query('SELECT 1 FROM articles WHERE slug = $1', 14, 5);
      r.query('INSERT INTO articles (slug) VALUES ($1)', 20, 5);
      r.query('COMMIT', 26, 1);
    });
    // an N+1 loop and one other read: not this rule's
    t.requests(10, 'GET', '/feed', 1000, 80, (r) => {
      r.query('SELECT id FROM articles LIMIT 20', 0, 5);
      for (let i = 0; i < 6; i++) r.query('SELECT name FROM users WHERE id = $1', 6 + i * 6, 5);
    });
    // three reads started together
    t.requests(10, 'GET', '/parallel', 1000, 20, (r) => {
      r.query('SELECT * FROM a WHERE id = $1', 1, 10);
      r.query('SELECT * FROM b WHERE id = $1', 1, 12);
      r.query('SELECT * FROM c WHERE id = $1', 2, 9);
    });
    t.requests(10, 'GET', '/check-then-read', 1000, 20, (r) => {
      r.query('SELECT 1 FROM users WHERE id = $1', 1, 3);
      r.query('SELECT * FROM posts WHERE user_id = $1', 5, 8);
    });
    expect(serialQueries.detect(t.input())).toEqual([]);
  });

  it('counts a read started within a millisecond before the previous one ended as after it (whole-ms span starts)', () => {
    const t = new TraceBuilder();
    t.requests(10, 'GET', '/x', 1000, 40, (r) => {
      r.query('SELECT * FROM a WHERE id = $1', 0, 10.6);
      r.query('SELECT * FROM b WHERE id = $1', 10, 10.4);
      r.query('SELECT * FROM c WHERE id = $1', 20, 10);
    });
    expect(serialQueries.detect(t.input())[0]).toMatchObject({ savingMsPerRequest: 20.4 });
  });
});
