// Compile-only check that the public types describe the API as documented (run by `tsc`).
import { NventError } from '../index.js'

const e = new NventError('NVENT_NOT_FOUND', 'x')
const code: string = e.code
void code
