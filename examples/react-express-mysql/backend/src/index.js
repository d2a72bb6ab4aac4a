// The API: MySQL is reached as `db`, its name in the stack, as under Compose.
const fs = require("fs");
const http = require("http");
const mysql = require("mysql2/promise");

const password = fs.readFileSync(process.env.DATABASE_PASSWORD, "utf8").trim();

http
  .createServer(async (req, res) => {
    const db = await mysql.createConnection({
      host: process.env.DATABASE_HOST,
      user: process.env.DATABASE_USER,
      password,
      database: process.env.DATABASE_DB,
    });
    const [rows] = await db.query("SELECT 'hello from MySQL' AS message");
    await db.end();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(rows[0]));
  })
  .listen(80);
