import { describe, expect, it } from 'vitest';
import { inferTemplates, loadRouteMatcher, probeRoute, templatePath } from '../../scripts/analysis/routes.js';

describe('route templates inferred from the paths seen', () => {
  it('numbers, UUIDs and long hex ids are :id wherever they stand', () => {
    expect(templatePath('/users/123/posts/9f8e7d6c5b4a39281706f5e4d3c2b1a0')).toBe('/users/:id/posts/:id');
    expect(templatePath('/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301')).toBe('/orders/:id');
    expect(probeRoute('GET /users/7?x=1')).toBe('GET /users/:id');
  });

  it('a position with many rare values is a parameter; its common values stay routes of their own', () => {
    const slugs = Array.from({ length: 12 }, (_, i) => `GET /api/articles/how-to-${i}-things`);
    const paths = [...slugs, ...Array(10).fill('GET /api/articles/feed'), 'GET /api/tags', 'POST /api/articles/how-to-1-things'];
    const t = inferTemplates(paths);
    expect(t.get('GET /api/articles/how-to-3-things')).toBe('GET /api/articles/:slug');
    expect(t.get('GET /api/articles/feed')).toBe('GET /api/articles/feed');
    expect(t.get('GET /api/tags')).toBe('GET /api/tags');
    // another method is another route: one POST path is not a pattern
    expect(t.get('POST /api/articles/how-to-1-things')).toBe('POST /api/articles/how-to-1-things');
  });

  it('a few values are not enough to call a position a parameter', () => {
    const t = inferTemplates(['GET /a/x', 'GET /a/y', 'GET /a/z', 'GET /b/x']);
    expect([...new Set(t.values())].sort()).toEqual(['GET /a/x', 'GET /a/y', 'GET /a/z', 'GET /b/x']);
  });

  it('matches the load generator\'s paths to requests: placeholders and :params stand for one segment', () => {
    const m = loadRouteMatcher('GET', '/users/{userId}/timeline?limit=20');
    expect(m('GET', '/users/7/timeline?limit=20')).toBe(true);
    expect(m('GET', '/users/7/notifications')).toBe(false);
    expect(m('POST', '/users/7/timeline')).toBe(false);
    expect(loadRouteMatcher('GET', '/users/:id')('GET', '/users/abc')).toBe(true);
    expect(loadRouteMatcher('GET', '/articles/article-{n}')('GET', '/articles/article-12')).toBe(true);
  });
});
