// Counted nouns in messages: "1 character", "2 characters", "1,024 steps".

export function plural(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}
