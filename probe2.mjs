import { PGlite } from '@electric-sql/pglite';
let t=Date.now();
const db = new PGlite(process.argv[2]);
await db.waitReady; console.log('open ms', Date.now()-t);
console.log((await db.query('select count(*) from t')).rows);
if (process.argv[3]==='close') { await db.close(); console.log('closed'); }
