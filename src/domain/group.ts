import type { Template } from './template.js';

/** A group as oned keeps it (Group.cc): owned by oneadmin, its gid is its own id. */
export interface Group {
  id: number;
  name: string;
  template: Template;
  users: number[];
  admins: number[];
}

/** Group ids below 100 are reserved for system groups (GroupPool.cc). */
export const FIRST_USER_GROUP_ID = 100;
