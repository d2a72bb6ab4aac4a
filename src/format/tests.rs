use super::*;

fn fmt(text: &str) -> String {
    match format_source(text, SourceId(0)) {
        Ok(out) => out,
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn smoke() {
    let out = fmt("param  x :int=1\ncontainer \"a\" { image = \"x\"\n ports=[1,2] }\n");
    assert_eq!(
        out,
        "param x: int = 1\ncontainer \"a\" {\n  image = \"x\"\n  ports = [1, 2]\n}\n"
    );
}
