/**
 * What the API answers, identical in every stage: ids are numbers, timestamps ISO strings, lists newest first
 * (created_at desc, id desc). The JSON schemas in schemas.ts describe the same shapes.
 */

export interface UserRef {
  id: number;
  name: string;
}

export interface Post {
  id: number;
  content: string;
  imageUrl: string | null;
  createdAt: string;
  author: UserRef;
  likeCount: number;
}

export interface Notification {
  id: number;
  kind: 'follow' | 'like';
  postId: number | null;
  createdAt: string;
  sender: UserRef;
}

export interface Like {
  postId: number;
  userId: number;
  likeCount: number;
  createdAt: string;
}

export interface NewPost {
  userId: number;
  content: string;
  imageUrl?: string;
}

/** A posts row (plus whatever the query joined). */
export interface PostRow {
  id: number;
  user_id: number;
  content: string;
  image_url: string | null;
  created_at: Date;
}

export interface NotificationRow {
  id: number;
  kind: 'follow' | 'like';
  post_id: number | null;
  sender_id: number;
  created_at: Date;
}

export function toPost(row: PostRow, author: UserRef, likeCount: number): Post {
  return {
    id: row.id,
    content: row.content,
    imageUrl: row.image_url,
    createdAt: row.created_at.toISOString(),
    author: { id: author.id, name: author.name },
    likeCount,
  };
}

export function toNotification(row: NotificationRow, sender: UserRef): Notification {
  return {
    id: row.id,
    kind: row.kind,
    postId: row.post_id,
    createdAt: row.created_at.toISOString(),
    sender: { id: sender.id, name: sender.name },
  };
}
