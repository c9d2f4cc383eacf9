function fill(n) { const a = []; for (let i = 0; i < n; i++) a.push({i, s: "x" + i}); return a; }
let t = 0; for (let k = 0; k < 5; k++) t += fill(200000).length; console.log(t);
