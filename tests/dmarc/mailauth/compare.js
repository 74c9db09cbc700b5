'use strict';
// compare.js - the second opinion of tests/secondopinion.test: every case of
// tests/dmarc/walk/cases.txt through postalsys mailauth's RFC 9989 DMARC
// evaluation (lib/dmarc/verify.js, pinned in package.json), with a resolver
// answering from the table's zones as the test nsd does, compared with our
// verdicts (the JSON lines of "tests/check_dmarc_walk --json").
//
//   node compare.js CASES.txt OURS.jsonl DIFFERENCES.md
//
// Compared: the result; for pass and fail also the policy applied (after t=),
// the record domain (mailauth's policyDomain), the org domain (its "domain")
// and the alignment of each passing identifier.  A case may declare where
// mailauth answers otherwise (ma.FIELD=VALUE in the table); each such case
// must be explained in DIFFERENCES.md, and a declared difference that no
// longer occurs fails too.  Prints "ok"/"not ok" lines and
// "N passed, M failed"; exits 1 on any failure, 2 on bad input.

const fs = require('node:fs');
const path = require('node:path');

let evaluateDmarc;
try {
    ({ evaluateDmarc } = require(path.join(__dirname, 'node_modules', 'mailauth', 'lib', 'dmarc', 'verify')));
} catch (err) {
    console.log(`SKIP: mailauth is not installed in ${__dirname} (npm ci): ${err.message}`);
    process.exit(77);
}

const FIELDS = ['result', 'policy', 'record_domain', 'org_domain', 'spf', 'dkim'];

// ---- the table (same syntax as tests/dmarcwalk.c reads) -------------------

const parseTable = text => {
    const logical = [];
    text.split('\n').forEach((raw, i) => {
        const line = raw.replace(/\r$/, '');
        if (line.startsWith('#')) {
            return;
        }
        if (/^[ \t]/.test(line)) {
            if (line.trim() && logical.length) {
                logical[logical.length - 1].text += ' ' + line.trim();
            }
            return;
        }
        if (line.trim()) {
            logical.push({ text: line, line: i + 1 });
        }
    });

    const zones = [];
    const rrs = [];
    const cases = [];
    for (const { text, line } of logical) {
        const m = /^(\S+)\s*(.*)$/.exec(text);
        if (m[1] === 'zone') {
            const [name, flag] = m[2].split(/\s+/);
            zones.push({ name: name.toLowerCase(), broken: flag === 'broken' });
        } else if (m[1] === 'rr') {
            const r = /^(\S+)\s+(\S+)\s+(.*)$/.exec(m[2]);
            rrs.push({ owner: r[1].toLowerCase(), type: r[2], data: r[3].trim() });
        } else if (m[1] === 'case') {
            const [name, ...tokens] = m[2].split(/\s+/);
            const c = { name, line, spf: null, dkim: [], ns: 'main', ma: {} };
            for (const tok of tokens) {
                const eq = tok.indexOf('=');
                const key = tok.slice(0, eq);
                const value = tok.slice(eq + 1);
                if (key === 'from') {
                    c.from = value;
                } else if (key === 'spf') {
                    const [result, domain] = value.split(':');
                    c.spf = { result, domain };
                } else if (key === 'dkim') {
                    for (const item of value.split(',')) {
                        const star = /^(\d+)\*(.*)$/.exec(item);
                        const n = star ? Number(star[1]) : 1;
                        const [result, pattern] = (star ? star[2] : item).split(':');
                        for (let k = 1; k <= n; k++) {
                            c.dkim.push({ result, domain: pattern.replace('%d', String(k)) });
                        }
                    }
                } else if (key === 'ns') {
                    c.ns = value;
                } else if (key.startsWith('ma.')) {
                    c.ma[key.slice(3)] = value;
                }
            }
            cases.push(c);
        } else {
            throw new Error(`line ${line}: unknown "${m[1]}"`);
        }
    }
    return { zones, rrs, cases };
};

// ---- a resolver over the zones, answering as nsd + libunbound do ------------

const dnsError = (code, name) => Object.assign(new Error(`${code} ${name}`), { code });

// TXT data: zone-file quoted strings as written, else one string in 255-octet pieces.
const txtStrings = data => {
    if (data.startsWith('"')) {
        return Array.from(data.matchAll(/"((?:[^"\\]|\\.)*)"/g), m => m[1].replace(/\\(.)/g, '$1'));
    }
    const parts = [];
    for (let i = 0; i < data.length; i += 255) {
        parts.push(data.slice(i, i + 255));
    }
    return parts.length ? parts : [''];
};

// ns: "main" (NXDOMAIN outside the zones: the fixture's empty root), "noroot"
// (REFUSED outside them) or "dead" (every query times out)
const makeResolver = ({ zones, rrs }, ns) => {
    const under = (name, zone) => name === zone || name.endsWith('.' + zone);
    const zoneOf = name => zones.filter(z => under(name, z.name)).sort((a, b) => b.name.length - a.name.length)[0];
    // a name exists when it owns a record, is a zone apex, or has a name below it (empty non-terminal)
    const exists = name => zones.some(z => z.name === name && !z.broken) || rrs.some(r => under(r.owner, name));
    const owned = name => {
        const own = rrs.filter(r => r.owner === name);
        if (own.length || exists(name)) {
            return own;
        }
        // RFC 4592: a wildcard at the closest encloser answers for a name that does not exist
        const labels = name.split('.');
        for (let i = 1; i < labels.length; i++) {
            const encloser = labels.slice(i).join('.');
            if (exists(encloser)) {
                return rrs.filter(r => r.owner === '*.' + encloser);
            }
        }
        return [];
    };

    const lookup = (name, type, depth) => {
        if (ns === 'dead') {
            throw dnsError('ETIMEOUT', name);
        }
        const zone = zoneOf(name);
        if (!zone) {
            throw dnsError(ns === 'noroot' ? 'EREFUSED' : 'ENOTFOUND', name);
        }
        if (zone.broken) {
            throw dnsError('ESERVFAIL', name);
        }
        const own = owned(name);
        const cname = own.find(r => r.type === 'CNAME');
        if (cname && type !== 'CNAME') {
            if (depth > 8) {
                throw dnsError('ESERVFAIL', name);
            }
            return lookup(cname.data.toLowerCase().replace(/\.$/, ''), type, depth + 1);
        }
        const hits = own.filter(r => r.type === type);
        if (hits.length) {
            return hits.map(r => {
                switch (type) {
                    case 'TXT':
                        return txtStrings(r.data);
                    case 'MX': {
                        const [priority, exchange] = r.data.split(/\s+/);
                        return { priority: Number(priority), exchange: exchange.replace(/\.$/, '') };
                    }
                    default:
                        return r.data.replace(/\.$/, '');
                }
            });
        }
        throw dnsError(own.length || exists(name) ? 'ENODATA' : 'ENOTFOUND', name);
    };

    return async (name, type) => lookup(String(name).toLowerCase().replace(/\.$/, ''), type, 0);
};

// ---- comparing ------------------------------------------------------------

const mailauthView = async (table, c) => {
    const { response, dkimAligned } = await evaluateDmarc({
        headerFrom: `author@${c.from}`,
        spfDomains: c.spf && c.spf.result === 'pass' ? [c.spf.domain] : [],
        dkimDomains: c.dkim.filter(s => s.result === 'pass').map(s => ({ domain: s.domain })),
        resolver: makeResolver(table, c.ns)
    });
    const aligned = dkimAligned || new Set();
    return {
        result: response.status.result,
        policy: response.policy,
        record_domain: response.policyDomain || '',
        org_domain: response.domain || '',
        spf: c.spf && c.spf.result === 'pass' ? String(!!response.alignment?.spf?.result) : '-',
        dkim: c.dkim.filter(s => s.result === 'pass').map(s => (aligned.has(s.domain.toLowerCase()) ? 'Y' : 'N')).join('') || '-'
    };
};

const ourView = (c, ours) => ({
    result: ours.result,
    policy: ours.applied,
    record_domain: ours.record_domain,
    org_domain: ours.org_domain,
    spf: c.spf && c.spf.result === 'pass' ? String(ours.spf.aligned) : '-',
    dkim: ours.dkim.filter(s => s.pass).map(s => (s.aligned ? 'Y' : 'N')).join('') || '-'
});

const main = async () => {
    const [casesPath, oursPath, diffPath] = process.argv.slice(2);
    if (!diffPath) {
        console.error('usage: node compare.js CASES.txt OURS.jsonl DIFFERENCES.md');
        process.exit(2);
    }
    const table = parseTable(fs.readFileSync(casesPath, 'utf8'));
    const ours = new Map(
        fs
            .readFileSync(oursPath, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map(l => JSON.parse(l))
            .map(o => [o.case, o])
    );
    const differences = fs.readFileSync(diffPath, 'utf8');
    let passed = 0;
    let failed = 0;
    const report = (ok, text) => {
        ok ? passed++ : failed++;
        console.log(`${ok ? 'ok' : 'not ok'} - ${text}`);
    };

    for (const c of table.cases) {
        const o = ours.get(c.name);
        if (!o) {
            report(false, `${c.name}: no verdict of ours (check_dmarc_walk --json)`);
            continue;
        }
        const a = ourView(c, o);
        const b = await mailauthView(table, c);
        const decided = a.result === 'pass' || a.result === 'fail';
        const problems = [];
        const notes = [];
        for (const field of FIELDS) {
            if (field in c.ma) {
                if (b[field] !== c.ma[field]) {
                    problems.push(`${field}: mailauth ${b[field]}, the table says mailauth ${c.ma[field]}`);
                } else if (a[field] === b[field]) {
                    problems.push(`${field}: declared difference gone (both ${a[field]})`);
                } else {
                    notes.push(`${field}: ours ${a[field]}, mailauth ${b[field]} (DIFFERENCES.md)`);
                }
                continue;
            }
            if (field !== 'result' && (!decided || b.result !== a.result)) {
                continue;
            }
            if (a[field] !== b[field]) {
                problems.push(`${field}: ours ${a[field]}, mailauth ${b[field]}`);
            }
        }
        if (Object.keys(c.ma).length && !new RegExp(`^#+ .*\\b${c.name.replace(/[-]/g, '\\-')}\\b`, 'm').test(differences)) {
            problems.push('a declared difference not explained in DIFFERENCES.md (a heading naming the case)');
        }
        report(!problems.length, `${c.name}: ${problems.length ? problems.join('; ') : notes.length ? notes.join('; ') : 'same'}`);
    }
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
};

main().catch(err => {
    console.error(err.stack || err.message);
    process.exit(2);
});
