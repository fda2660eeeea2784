/** What every page needs from the app: the API client, the live feed and who is signed in. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient } from './api.js';
import type { LiveFeed } from './live.js';
import type { SessionInfo } from './types.js';

export interface AppContext {
  api: ApiClient;
  feed: LiveFeed;
  session: SessionInfo;
}

export const App = createContext<AppContext | undefined>(undefined);

export function useApp(): AppContext {
  const value = useContext(App);
  if (!value) throw new Error('useApp outside the signed-in app');
  return value;
}
