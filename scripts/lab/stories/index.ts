/**
 * The story labs, by name (`looplens lab --story <name>`). Adding a story: one module exporting a Story, plus one line
 * here.
 */
import { blockingIo } from './blocking-io.js';
import type { Story } from './types.js';

export const STORIES: readonly Story[] = [blockingIo];

export const STORY_NAMES: readonly string[] = STORIES.map((s) => s.name);

export function findStory(name: string): Story | undefined {
  return STORIES.find((s) => s.name === name);
}

export type { Story, StoryStage } from './types.js';
