// The tasks there are, by name, and the one check every command makes before it uses a
// checkpoint: that it holds a task the command serves.
//
// To add a task: implement Task (task.ts) in its own module, add its checkpoint metadata
// type to TaskMetas and the task to TASKS.
import { UsageError } from '../util/errors.js';
import { classifyTask, type ClassifyMeta } from './classify.js';
import { condTask, type CondMeta } from './cond.js';
import { lmTask, type LmMeta } from './lm.js';
import { seq2seqTask, type Seq2SeqMeta } from './seq2seq.js';
import type { Task } from './task.js';

/** What each task's checkpoint metadata decodes to (Task.decodeMeta). Every one has the input vocabulary and a model config. */
export interface TaskMetas {
  lm: LmMeta;
  seq2seq: Seq2SeqMeta;
  classify: ClassifyMeta;
  cond: CondMeta;
}

export type TaskName = keyof TaskMetas;

export const TASKS: { [K in TaskName]: Task<any, TaskMetas[K]> } = {
  lm: lmTask,
  seq2seq: seq2seqTask,
  classify: classifyTask,
  cond: condTask,
};

export const TASK_NAMES = Object.keys(TASKS) as TaskName[];

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(TASKS, name);
}

/** The task of a name given by a user (--task). */
export function taskByName(name: string): Task<any, any> {
  if (!isTaskName(name)) throw new UsageError(`--task must be one of ${TASK_NAMES.join(', ')} (got ${JSON.stringify(name)})`);
  return TASKS[name];
}

/**
 * Refuses a checkpoint of a task the command does not serve, with one line naming what
 * the file holds and the command that takes it; returns it narrowed otherwise.
 */
export function requireTask<K extends TaskName, C extends { task: TaskName; file: string }>(ckpt: C, ...names: K[]): Extract<C, { task: K }> {
  if ((names as TaskName[]).includes(ckpt.task)) return ckpt as Extract<C, { task: K }>;
  const held = TASKS[ckpt.task];
  const wanted = names.map((n) => `a ${TASKS[n].title}`).join(' or ');
  throw new UsageError(`${ckpt.file}: holds a ${held.title}, not ${wanted}; use it with ${held.command}`);
}
