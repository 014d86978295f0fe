/**
 * writeReport(): the files of `looplens report`. The index goes to `out` (default profiles/index.html); one page per
 * lab and per run goes to report/ beside it. Every link is relative, so the profiles folder can be copied anywhere.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { RunFolderError, isLabFolder, isRunFolder, listRunFolders, writeTextAtomic } from '../../profiles/contract/index.js';
import { checkOutFile, makeOutFolder } from '../../scripts/out-path.js';
import { relHref } from './escape.js';
import { indexEntry, loadLab, loadRun, type IndexEntry, type LabModel, type RunModel } from './model.js';
import { renderIndex, renderLabPage, renderRunPage, type IndexItem, type RenderLinks } from './render.js';

export interface ReportOptions {
  /** Run or lab folders (or folders holding them). Default: every run and lab folder in `profilesDir`. */
  folders?: string[];
  /** Default: ./profiles (resolved against `cwd`). */
  profilesDir?: string;
  /**
   * The index file. Default: <profilesDir>/index.html. An existing folder (or a path ending in /) gets index.html
   * inside it. Checked before anything is read or written (scripts/out-path.ts): a path under /proc or /sys, or one
   * naming a file where a folder is needed, is a one-line OUT_INVALID error.
   */
  out?: string;
  cwd?: string;
  /** Shown in the footer; default now. */
  generatedAt?: string;
  /** Embed flamegraphs (collapsed iframes) besides linking them. Default true. */
  embedFlamegraphs?: boolean;
}

export interface ReportPage {
  kind: 'run' | 'lab';
  id: string;
  /** The run or lab folder. */
  dir: string;
  /** The HTML file written. */
  path: string;
}

export interface ReportResult {
  /** The index file written. */
  index: string;
  pages: ReportPage[];
  /** Folders that could not be rendered (listed on the index as unreadable), one line each. */
  warnings: string[];
}

const SAFE = /[^A-Za-z0-9._-]+/g;

function pageName(taken: Set<string>, ...parts: string[]): string {
  const base = parts.map((p) => p.replace(SAFE, '_').replace(/^\.+/, '_')).join('--').slice(0, 120) || 'run';
  let name = `${base}.html`;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}.html`;
  taken.add(name);
  return name;
}

/** Explicit folders → run/lab folders: a folder that is neither but holds some is expanded. */
function expand(folders: string[], cwd: string): string[] {
  const out: string[] = [];
  for (const f of folders) {
    const dir = resolve(cwd, f);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new RunFolderError('NOT_A_RUN_FOLDER', dir, `${f} is not a folder`);
    }
    if (isRunFolder(dir) || isLabFolder(dir)) out.push(dir);
    else {
      const inner = listRunFolders(dir);
      if (inner.length === 0) throw new RunFolderError('NOT_A_RUN_FOLDER', dir, `${f} is neither a run folder (run.json) nor a lab folder (lab.json), nor holds any`);
      out.push(...inner);
    }
  }
  return [...new Set(out)];
}

export function writeReport(options: ReportOptions = {}): ReportResult {
  const cwd = options.cwd ?? process.cwd();
  const profilesDir = resolve(cwd, options.profilesDir ?? 'profiles');
  const indexPath = checkOutFile(options.out ?? join(profilesDir, 'index.html'), 'index.html', { cwd, flag: options.out ? '--out' : 'the report index' });
  const outDir = dirname(indexPath);
  const pagesDir = join(outDir, 'report');
  const explicit = options.folders !== undefined && options.folders.length > 0;
  const folders = explicit ? expand(options.folders!, cwd) : listRunFolders(profilesDir);
  const generatedAt = options.generatedAt ?? new Date().toISOString();

  const warnings: string[] = [];
  const items: IndexItem[] = [];
  const pages: ReportPage[] = [];
  const taken = new Set<string>();
  const toWrite: { path: string; render: () => string }[] = [];

  const linksFrom = (pageDir: string, extra: Partial<RenderLinks> = {}): RenderLinks => ({
    hrefTo: (abs) => relHref(relative(pageDir, abs)),
    index: relHref(relative(pageDir, indexPath)),
    embedFlamegraphs: options.embedFlamegraphs,
    generatedAt,
    ...extra,
  });

  const addRunPage = (run: RunModel, ...nameParts: string[]): string => {
    const path = join(pagesDir, pageName(taken, ...nameParts));
    pages.push({ kind: 'run', id: run.id, dir: run.dir, path });
    toWrite.push({ path, render: () => renderRunPage(run, linksFrom(pagesDir)) });
    return path;
  };

  for (const dir of folders) {
    const entry: IndexEntry = indexEntry(dir);
    if (entry.kind === 'broken') {
      if (explicit) (isLabFolder(dir) ? loadLab(dir) : loadRun(dir)); // throws the RunFolderError naming the file
      warnings.push(`${dir}: ${entry.error}`);
      items.push({ entry });
      continue;
    }
    if (entry.kind === 'lab') {
      let lab: LabModel;
      try {
        lab = loadLab(dir);
      } catch (err) {
        if (explicit) throw err;
        warnings.push(`${dir}: ${(err as Error).message}`);
        items.push({ entry: { kind: 'broken', dir, id: basename(dir), error: (err as Error).message } });
        continue;
      }
      const stagePages = new Map<string, string>();
      for (const s of lab.stages) if (s.run) stagePages.set(s.runDir, addRunPage(s.run, lab.id, basename(s.runDir)));
      for (const s of lab.stages) if (s.problem) warnings.push(`${dir}: stage ${s.stage}: ${s.problem}`);
      const path = join(pagesDir, pageName(taken, lab.id));
      pages.push({ kind: 'lab', id: lab.id, dir, path });
      const runPage = (runDir: string) => {
        const p = stagePages.get(runDir);
        return p ? relHref(relative(pagesDir, p)) : undefined;
      };
      toWrite.push({ path, render: () => renderLabPage(lab, linksFrom(pagesDir, { runPage })) });
      items.push({
        entry,
        href: relHref(relative(outDir, path)),
        stages: lab.stages.map((s) => ({ stage: s.stage, href: stagePages.has(s.runDir) ? relHref(relative(outDir, stagePages.get(s.runDir)!)) : undefined })),
      });
      continue;
    }
    // A single run: a page when its required files read; an incomplete run without a summary is listed only.
    if (!entry.summary) {
      if (explicit) loadRun(dir);
      warnings.push(`${dir}: ${entry.error ?? 'no summary'}`);
      items.push({ entry });
      continue;
    }
    try {
      const run = loadRun(dir);
      const path = addRunPage(run, run.id);
      items.push({ entry, href: relHref(relative(outDir, path)) });
    } catch (err) {
      if (explicit) throw err;
      warnings.push(`${dir}: ${(err as Error).message}`);
      items.push({ entry: { ...entry, error: (err as Error).message } });
    }
  }

  makeOutFolder(outDir, { flag: options.out ? '--out' : 'the report index', shown: options.out });
  if (toWrite.length > 0) makeOutFolder(pagesDir, { flag: 'the report pages folder' });
  for (const w of toWrite) writeTextAtomic(w.path, w.render());
  writeTextAtomic(indexPath, renderIndex(items, { generatedAt }));
  return { index: indexPath, pages, warnings };
}
