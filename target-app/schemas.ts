/**
 * JSON schemas of every route, in and out, shared by all stages. Input is validated (bodies strictly: no type
 * coercion, no unknown fields); output is serialised through the response schemas, so every stage answers the
 * same fields with the same types.
 */
import { MAX_CONTENT_LENGTH } from './db/schema.js';

/** Ids are positive PostgreSQL integers. */
export const MAX_ID = 2_147_483_647;
export const MAX_IMAGE_URL_LENGTH = 2048;

const id = { type: 'integer', minimum: 1, maximum: MAX_ID } as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id },
} as const;

export const limitQuery = (byDefault: number, max: number) =>
  ({
    type: 'object',
    properties: { limit: { type: 'integer', minimum: 1, maximum: max, default: byDefault } },
  }) as const;

export const newPostBody = {
  type: 'object',
  required: ['userId', 'content'],
  additionalProperties: false,
  properties: {
    userId: id,
    content: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_CONTENT_LENGTH, // code points: an emoji counts once
      // PostgreSQL text cannot hold NUL, and a lone UTF-16 surrogate cannot be stored verbatim: refuse both
      pattern: '^[^\\u0000\\p{Cs}]*$',
    },
    imageUrl: { type: 'string', maxLength: MAX_IMAGE_URL_LENGTH, pattern: '^https?://[^\\s\\u0000]+$' },
  },
} as const;

export const likeBody = {
  type: 'object',
  required: ['userId'],
  additionalProperties: false,
  properties: { userId: id },
} as const;

const userRef = {
  type: 'object',
  required: ['id', 'name'],
  properties: { id: { type: 'integer' }, name: { type: 'string' } },
} as const;

export const post = {
  type: 'object',
  required: ['id', 'content', 'imageUrl', 'createdAt', 'author', 'likeCount'],
  properties: {
    id: { type: 'integer' },
    content: { type: 'string' },
    imageUrl: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    author: userRef,
    likeCount: { type: 'integer' },
  },
} as const;

export const notification = {
  type: 'object',
  required: ['id', 'kind', 'postId', 'createdAt', 'sender'],
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string', enum: ['follow', 'like'] },
    postId: { type: ['integer', 'null'] },
    createdAt: { type: 'string' },
    sender: userRef,
  },
} as const;

export const like = {
  type: 'object',
  required: ['postId', 'userId', 'likeCount', 'createdAt'],
  properties: {
    postId: { type: 'integer' },
    userId: { type: 'integer' },
    likeCount: { type: 'integer' },
    createdAt: { type: 'string' },
  },
} as const;

export const errorBody = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

export const timelineResponse = { type: 'object', required: ['posts'], properties: { posts: { type: 'array', items: post } } } as const;
export const notificationsResponse = {
  type: 'object',
  required: ['notifications'],
  properties: { notifications: { type: 'array', items: notification } },
} as const;
