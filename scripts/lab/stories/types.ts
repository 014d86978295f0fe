/**
 * A story lab (`looplens lab --story <name>`): a seed article's point told as stages of the reference app under one
 * load. A story is data — its stages, its load, the roles of its routes — and `runLab` runs it as it runs the main
 * lab; a stage is a diff against the story's app (an environment variable, a worker count), one line each. Adding a
 * story: one module named after it (`<name>.ts`, which lab.md links) exporting a `Story`, plus one line in ./index.ts.
 */
import type { Scenario } from '../../load/scenario.js';

/** One stage: what it changes against the story's app, in data. */
export interface StoryStage {
  /** The stage's name (its run folder is `<nn>-<name>`). */
  name: string;
  /** One line: what this stage changes. */
  changes: string;
  /** Extra environment for the app (e.g. BLOCKING_IO_MODE=sync). */
  env?: Record<string, string>;
  /** node:cluster workers (WORKERS); one process when absent. */
  workers?: number;
}

export interface Story {
  name: string;
  /** One line: what the story shows (lab.md's heading, `lab --help`). */
  title: string;
  /** Its stages and what it needs, for `lab --help`. */
  help: string;
  /** The seed article it tells, for lab.md. */
  source: string;
  /** target-app stage every story stage runs (STAGE). */
  appStage: string;
  /** The request mix every stage gets (the lab's --duration, --warmup, --connections, --rate apply). */
  scenario: Scenario;
  /** What the story's routes are, by role, as summary.json names them. */
  routes: { innocent: string; slow: string };
  /** The slow call's designed duration (ms), for lab.md. */
  callMs: number;
  /**
   * The stages, for this machine (`cores`); `workers` is --workers when given (the worker stages then run that many
   * workers, once).
   */
  stages(machine: { cores: number; workers?: number }): StoryStage[];
  /** The pull request the story stands for: its before and after stages, compared by `looplens compare`. */
  compare: { base: string; head: string };
  /** Background lab.md states with the figures (where the limits are), one paragraph each. */
  notes: string[];
}
