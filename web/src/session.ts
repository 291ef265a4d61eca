// Who is logged in: read once from /api/v1/me, set by the login screen, cleared by logout.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post, setCsrf, type User } from './api';

let user: User | null | undefined; // undefined: not known yet
const listeners = new Set<() => void>();

function publish(u: User | null): void {
  user = u;
  listeners.forEach((f) => f());
}

export async function loadSession(): Promise<void> {
  try {
    publish(await get<User>('/api/v1/me'));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) publish(null);
    else throw e;
  }
}

export function loggedIn(u: User, csrf: string): void {
  setCsrf(csrf);
  publish(u);
}

export async function logout(): Promise<void> {
  try {
    await post('/api/v1/logout');
  } finally {
    setCsrf(null);
    publish(null);
  }
}

export function useUser(): User | null | undefined {
  const [, bump] = useState(0);
  useEffect(() => {
    const f = () => bump((n) => n + 1);
    listeners.add(f);
    return () => {
      listeners.delete(f);
    };
  }, []);
  return user;
}

export function currentUser(): User | null | undefined {
  return user;
}
