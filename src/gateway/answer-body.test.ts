import { describe, expect, it, vi } from 'vitest';
import { AnswerBody } from './answer-body.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const source = () => ({ pull: vi.fn(), cancel: vi.fn() });

describe('AnswerBody', () => {
  it('hands chunks over in order, queued or awaited, then done once closed', async () => {
    const s = source();
    const body = new AnswerBody(s);
    const reader = body.getReader();
    const first = reader.read();
    body.enqueue(bytes('a'));
    expect(await first).toEqual({ done: false, value: bytes('a') });
    body.enqueue(bytes('b'));
    // A chunk waits unread: the queue is at its high-water mark.
    expect(body.desiredSize).toBe(0);
    body.enqueue(bytes('c'));
    body.close();
    expect(await reader.read()).toEqual({ done: false, value: bytes('b') });
    expect(await reader.read()).toEqual({ done: false, value: bytes('c') });
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(s.cancel).not.toHaveBeenCalled();
  });

  it('asks for more when a read takes the queue under its mark', async () => {
    const s = source();
    const body = new AnswerBody(s);
    const reader = body.getReader();
    body.enqueue(bytes('a'));
    expect(s.pull).not.toHaveBeenCalled();
    await reader.read();
    expect(s.pull).toHaveBeenCalledTimes(1);
  });

  it('fails reads with the error, dropping what was queued', async () => {
    const body = new AnswerBody(source());
    const reader = body.getReader();
    body.enqueue(bytes('a'));
    const failure = new Error('cut');
    body.error(failure);
    expect(body.desiredSize).toBeNull();
    await expect(reader.read()).rejects.toBe(failure);
    expect(() => body.close()).toThrow(TypeError);
  });

  it('fails a waiting read when the error comes later', async () => {
    const body = new AnswerBody(source());
    const read = body.getReader().read();
    body.error(new Error('gone'));
    await expect(read).rejects.toThrow('gone');
  });

  it('cancels once: a waiting read ends done, the source is told, later writes are refused', async () => {
    const s = source();
    const body = new AnswerBody(s);
    const reader = body.getReader();
    const read = reader.read();
    await body.cancel('bye');
    expect(await read).toEqual({ done: true, value: undefined });
    expect(s.cancel).toHaveBeenCalledWith('bye');
    await reader.cancel();
    expect(s.cancel).toHaveBeenCalledTimes(1);
    expect(() => body.enqueue(bytes('x'))).toThrow(TypeError);
  });

  it('refuses a second reader, and reads whole through a web stream', async () => {
    const body = new AnswerBody(source());
    body.enqueue(bytes('{"a":'));
    body.enqueue(bytes('1}'));
    body.close();
    const text = await new Response(body.toStream()).text();
    expect(text).toBe('{"a":1}');
    expect(body.locked).toBe(true);
    expect(() => body.getReader()).toThrow(TypeError);
  });
});
