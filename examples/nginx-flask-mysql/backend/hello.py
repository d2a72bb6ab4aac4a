import mysql.connector
from flask import Flask

app = Flask(__name__)


@app.route("/")
def blog_titles():
    # `db` is the database container's name in the stack: it resolves as under Compose.
    with open("/run/secrets/db-password") as f:
        password = f.read().strip()
    conn = mysql.connector.connect(user="root", password=password, host="db", database="example")
    cursor = conn.cursor()
    cursor.execute("CREATE TABLE IF NOT EXISTS blog (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(255))")
    cursor.execute("SELECT title FROM blog")
    titles = [row[0] for row in cursor]
    conn.close()
    return "<h1>Blog</h1>" + "".join(f"<div>{t}</div>" for t in titles)
