/** A run-folder file that is missing or unreadable. `file` is the path, so callers can say exactly what failed. */
export class RunFolderError extends Error {
  readonly code: 'RUN_FILE_MISSING' | 'RUN_FILE_CORRUPT' | 'RUN_FILE_INVALID' | 'NOT_A_RUN_FOLDER';
  readonly file: string;
  constructor(code: RunFolderError['code'], file: string, message: string) {
    super(message);
    this.name = 'RunFolderError';
    this.code = code;
    this.file = file;
  }
}
