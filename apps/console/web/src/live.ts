import { useEffect, useRef } from 'react';

/** Follows a Server-Sent Events stream of the console API while the component is shown; the browser reconnects itself. */
export function useEventSource(url: string | undefined, handlers: Record<string, (data: unknown, id: string) => void>): void {
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    if (!url) return undefined;
    const source = new EventSource(url, { withCredentials: true });
    const listeners = Object.keys(current.current).map((type) => {
      const listener = (event: MessageEvent<string>) => {
        let data: unknown = event.data;
        try {
          data = JSON.parse(event.data);
        } catch {
          // not JSON: pass the text on
        }
        current.current[type]?.(data, event.lastEventId);
      };
      source.addEventListener(type, listener as EventListener);
      return [type, listener] as const;
    });
    return () => {
      for (const [type, listener] of listeners) source.removeEventListener(type, listener as EventListener);
      source.close();
    };
  }, [url]);
}
