#[test]
fn parse_spec() {
    let text = std::fs::read_to_string("/tmp/spec_example.stack").unwrap();
    match stackc::syntax::parse_file(&text, stackc::source::SourceId(0)) {
        Ok(f) => println!("{:#?}", f.items.last()),
        Err(e) => panic!("{:?}", e),
    }
}
