// The React dev server stands here; it asks the API as `backend`, its name in the stack.
const http = require("http");

http
  .createServer(async (req, res) => {
    const api = await fetch("http://backend:80/");
    res.setHeader("content-type", "text/html");
    res.end(`<h1>React + Express + MySQL</h1><pre>${await api.text()}</pre>`);
  })
  .listen(3000);
