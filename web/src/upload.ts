/**
 * A file as the raw body of a POST, with the session's CSRF header and upload progress (XMLHttpRequest: fetch
 * cannot report upload progress). Resolves with the HTTP status and the JSON answer; `abort()` cancels.
 */
import { ApiError, type Api } from './api.ts';

export function uploadFile(
  api: Api,
  url: string,
  file: Blob,
  onProgress: (sent: number, total: number) => void,
): { done: Promise<{ status: number; body: unknown }>; abort(): void } {
  const xhr = new XMLHttpRequest();
  const done = new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    xhr.open('POST', url);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    for (const [k, v] of Object.entries(api.sessionHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (ev) => onProgress(ev.loaded, ev.lengthComputable ? ev.total : file.size);
    xhr.onload = () => {
      if (xhr.status === 401) api.sessionEnded();
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON: the status says enough */
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new ApiError('The upload was interrupted: the appliance cannot be reached', 0, 0));
    xhr.onabort = () => reject(new ApiError('The upload was cancelled', 0, 0));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
