// Every number on the page comes from the collector's stats API; this is
// the only module that talks to the network, and only to this origin.
import { useEffect, useState, useCallback } from '../vendor/preact-htm.js';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** On a shared link (`/share/<token>`), every request carries the token. */
export const shareToken = location.pathname.startsWith('/share/') ? location.pathname.slice('/share/'.length) : null;

async function request(method, path, params, body) {
  const url = params && String(params) ? `${path}?${params}` : path;
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(shareToken ? { 'X-Mallard-Share': shareToken } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, `the collector cannot be reached (${e.message})`);
  }
  const json = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, (json && json.error) || `HTTP ${response.status}`);
  return json;
}

export const getJson = (path, params) => request('GET', path, params);
export const sendJson = (method, path, params, body) => request(method, path, params, body);

/** `{data, error, loading, reload}` for one GET; `null` path = nothing to load. */
export function useApi(path, params) {
  const key = path === null ? null : `${path}?${params}`;
  const [state, setState] = useState({ data: null, error: null, loading: key !== null, key: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (key === null) return undefined;
    let live = true;
    setState((s) => ({ data: s.key === key ? s.data : null, error: null, loading: true, key }));
    getJson(path, params).then(
      (data) => live && setState({ data, error: null, loading: false, key }),
      (error) => live && setState({ data: null, error, loading: false, key }),
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  // Until the effect has run for a new key, the state still holds the old
  // key's answer: never hand that out as this key's.
  if (state.key !== key && state.data !== null) return { data: null, error: null, loading: key !== null, key, reload };
  return { ...state, reload };
}
