// Where the files beside the code live, whether it runs from source (src/*.ts through tsx, as the tests do) or
// built (dist/src/*.js, as `npm start` and the container do): views and public stay at the package root, migrations
// are read from beside the code that runs (the built ones are JavaScript).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** src/ or dist/src/ */
const codeDir = path.dirname(fileURLToPath(import.meta.url));
/** the package root, or dist/ when built */
const codeRoot = path.dirname(codeDir);
const built = path.basename(codeRoot) === 'dist';

export const packageRoot = built ? path.dirname(codeRoot) : codeRoot;
export const viewsDir = path.join(packageRoot, 'views');
export const publicDir = path.join(packageRoot, 'public');
export const localesDir = path.join(packageRoot, 'locales');
export const migrationFolder = path.join(codeRoot, 'migrations');
