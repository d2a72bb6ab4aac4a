//! Loading: the root file and every module it imports (stdlib embedded),
//! each split into its tables; misplaced items, duplicates and cycles among
//! imports, lets and functions.

mod cycles;
mod errors;
pub mod moved;
#[cfg(test)]
mod tests;

pub(crate) use cycles::{find_cycles, free_names};

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;

use crate::deployment::Kind;
use crate::diagnostic::Diagnostic;
use crate::files::{Confinement, FileError, TEXT_LIMIT};
use crate::source::{SourceId, SourceMap, Span, Spanned};
use crate::stdlib;
use crate::syntax::{self, ast};

/// Index of a loaded module (file) in the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleId(pub usize);

/// Every module of a compilation; module 0 is the root.
#[derive(Debug)]
pub struct Program {
    pub modules: Vec<Module>,
}

impl Program {
    pub fn root(&self) -> &Module {
        &self.modules[0]
    }

    pub fn module(&self, id: ModuleId) -> &Module {
        &self.modules[id.0]
    }
}

/// One file, split into its tables. Items other than params, top-level
/// lets, functions and imports stay in `body`, in source order.
#[derive(Debug)]
pub struct Module {
    pub id: ModuleId,
    pub source: SourceId,
    /// The file's name as shown in diagnostics.
    pub name: String,
    /// The root file's directory (the default stack name) for module 0.
    pub dir_name: Option<String>,
    pub stack_name: Option<Spanned<String>>,
    pub params: IndexMap<String, ast::Param>,
    pub lets: IndexMap<String, ast::Let>,
    pub fns: IndexMap<String, ast::FnDecl>,
    /// Named types (`type Svc = …`): a namespace of their own; importers
    /// name them `alias.Svc`.
    pub types: IndexMap<String, ast::TypeDecl>,
    pub imports: IndexMap<String, ImportRef>,
    pub body: Vec<ast::Item>,
    /// `moved` blocks, addresses relative to each instance of the module.
    pub moved: Vec<moved::MovedItem>,
}

#[derive(Debug, Clone)]
pub struct ImportRef {
    pub module: ModuleId,
    pub span: Span,
}

/// Where a module's text comes from; also its identity for de-duplication.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Origin {
    Std(String),
    File(PathBuf),
}

/// Finds the root file of a stack: `PATH/main.stack`, or PATH itself.
pub fn root_file(path: &Path) -> Result<PathBuf, Diagnostic> {
    if path.is_dir() {
        let main = path.join("main.stack");
        if main.is_file() {
            return Ok(main);
        }
        return Err(errors::no_main_stack(path));
    }
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    Err(errors::no_such_path(path))
}

/// Loads the stack rooted at `root` (a file), with every import, reading
/// only within `files`.
pub fn load(
    root: &Path,
    files: &Confinement,
    sources: &mut SourceMap,
) -> Result<Program, Vec<Diagnostic>> {
    let mut loader = Loader {
        sources: &mut *sources,
        confinement: files,
        origins: HashMap::new(),
        files: Vec::new(),
        errors: Vec::new(),
    };
    let text = match read_module(files, root) {
        Ok(t) => t,
        Err(e) => return Err(vec![errors::unreadable_root(&e)]),
    };
    let origin = Origin::File(canonical(root));
    let display = root.display().to_string();
    loader.add(origin, display, Some(parent_dir(root)), text);
    let mut next = 0;
    while next < loader.files.len() {
        loader.load_imports(next);
        next += 1;
    }
    let Loader {
        files, mut errors, ..
    } = loader;
    let dir_name = root.canonicalize().ok().and_then(|p| {
        p.parent()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
    });
    let mut modules = Vec::new();
    for (i, file) in files.into_iter().enumerate() {
        let Some(parsed) = file.parsed else { continue };
        let name = sources.get(file.source).name.clone();
        modules.push(split(
            ModuleId(i),
            name,
            parsed,
            file.imports,
            &mut errors,
            i == 0,
            dir_name.clone(),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let program = Program { modules };
    cycles::check(&program, &mut errors);
    if errors.is_empty() {
        Ok(program)
    } else {
        Err(errors)
    }
}

struct LoadedFile {
    source: SourceId,
    parsed: Option<ast::File>,
    imports: IndexMap<String, ImportRef>,
}

struct Loader<'s> {
    sources: &'s mut SourceMap,
    confinement: &'s Confinement,
    origins: HashMap<Origin, ModuleId>,
    files: Vec<LoadedFile>,
    errors: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn add(
        &mut self,
        origin: Origin,
        display: String,
        dir: Option<PathBuf>,
        text: String,
    ) -> ModuleId {
        let source = self.sources.add(display, dir, text);
        let parsed = match syntax::parse_file(&self.sources.get(source).text, source) {
            Ok(f) => Some(f),
            Err(errs) => {
                self.errors.extend(errs);
                None
            }
        };
        let id = ModuleId(self.files.len());
        self.files.push(LoadedFile {
            source,
            parsed,
            imports: IndexMap::new(),
        });
        self.origins.insert(origin, id);
        id
    }

    fn load_imports(&mut self, index: usize) {
        let Some(file) = &self.files[index].parsed else {
            return;
        };
        let imports: Vec<ast::Import> = file
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Import(imp) => Some(imp.clone()),
                _ => None,
            })
            .collect();
        let source = self.files[index].source;
        for import in imports {
            if let Some(id) = self.import(source, &import.path) {
                let entry = ImportRef {
                    module: id,
                    span: import.path.span,
                };
                self.files[index]
                    .imports
                    .entry(import.alias.node.clone())
                    .or_insert(entry);
            }
        }
    }

    fn import(&mut self, from: SourceId, path: &Spanned<String>) -> Option<ModuleId> {
        let p = path.node.as_str();
        if let Some(name) = p.strip_prefix("std/") {
            let name = name.strip_suffix(".stack").unwrap_or(name);
            let origin = Origin::Std(name.to_string());
            if let Some(id) = self.origins.get(&origin) {
                return Some(*id);
            }
            let Some(text) = stdlib::module(name) else {
                self.errors.push(errors::no_std_module(name, path.span));
                return None;
            };
            return Some(self.add(origin, format!("std/{name}.stack"), None, text.to_string()));
        }
        if !(p.starts_with("./") || p.starts_with("../")) {
            self.errors
                .push(errors::neither_std_nor_relative(p, path.span));
            return None;
        }
        let Some(dir) = self.sources.dir_of(from).map(Path::to_path_buf) else {
            self.errors.push(errors::relative_import_in_std(path.span));
            return None;
        };
        let full = normalize(&dir.join(p));
        let origin = Origin::File(canonical(&full));
        if let Some(id) = self.origins.get(&origin) {
            return Some(*id);
        }
        match read_module(self.confinement, &full) {
            Ok(text) => {
                let display = full.display().to_string();
                Some(self.add(origin, display, Some(parent_dir(&full)), text))
            }
            Err(e) => {
                self.errors.push(errors::unreadable_import(&e, path.span));
                None
            }
        }
    }
}

/// The text of a module: a `.stack` file (its real path's name, so a link
/// cannot dress up another file), since syntax errors quote what they read.
fn read_module(files: &Confinement, path: &Path) -> Result<String, FileError> {
    let real = files.resolve(path)?;
    if real.extension().is_none_or(|e| e != "stack") {
        return Err(FileError::NotStack {
            path: path.to_path_buf(),
        });
    }
    files.read_text(path, TEXT_LIMIT)
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| normalize(path))
}

/// Removes `.` and `a/..` components without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            c => out.push(c),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// Splits a file into its tables, reporting misplaced items and duplicates.
fn split(
    id: ModuleId,
    name: String,
    file: ast::File,
    imports: IndexMap<String, ImportRef>,
    errors: &mut Vec<Diagnostic>,
    is_root: bool,
    dir_name: Option<String>,
) -> Module {
    let mut module = Module {
        id,
        source: file.source,
        name,
        dir_name: if is_root { dir_name } else { None },
        stack_name: None,
        params: IndexMap::new(),
        lets: IndexMap::new(),
        fns: IndexMap::new(),
        types: IndexMap::new(),
        imports,
        body: Vec::new(),
        moved: Vec::new(),
    };
    let mut names: IndexMap<String, Span> = IndexMap::new();
    let mut declare = |name: &ast::Ident, what: &str, errors: &mut Vec<Diagnostic>| {
        if let Some(first) = names.get(&name.node) {
            errors.push(errors::defined_twice(
                name,
                &format!("{what} `{}` defined again here", name.node),
                *first,
            ));
            false
        } else {
            names.insert(name.node.clone(), name.span);
            true
        }
    };
    for item in file.items {
        match item {
            ast::Item::Stack(name) => {
                if !is_root {
                    errors.push(errors::stack_in_module(name.span));
                } else if let Some(first) = &module.stack_name {
                    errors.push(errors::stack_named_twice(name.span, first.span));
                } else {
                    module.stack_name = Some(name);
                }
            }
            ast::Item::Type(t) => {
                if let Some(first) = module.types.get(&t.name.node) {
                    let again = format!("type `{}` defined again here", t.name.node);
                    errors.push(errors::defined_twice(&t.name, &again, first.name.span));
                } else {
                    module.types.insert(t.name.node.clone(), t);
                }
            }
            ast::Item::Param(p) => {
                if declare(&p.name, "parameter", errors) {
                    module.params.insert(p.name.node.clone(), p);
                }
            }
            ast::Item::Let(l) => {
                if declare(&l.name, "let", errors) {
                    module.lets.insert(l.name.node.clone(), l);
                }
            }
            ast::Item::Fn(f) => {
                if declare(&f.name, "function", errors) {
                    module.fns.insert(f.name.node.clone(), f);
                }
            }
            ast::Item::Import(i) => {
                if Kind::parse(&i.alias.node).is_some() {
                    errors.push(errors::alias_hides_kind(&i.alias));
                } else {
                    declare(&i.alias, "import", errors);
                }
            }
            ast::Item::Moved(m) => module.moved.extend(moved::read(&m, errors)),
            item => {
                check_block_items(&item, errors);
                module.body.push(item);
            }
        }
    }
    module
}

/// Inside `for` and `if` blocks only resources, lets, outputs, asserts and
/// nested blocks are allowed.
fn check_block_items(item: &ast::Item, errors: &mut Vec<Diagnostic>) {
    let blocks: Vec<&Vec<ast::Item>> = match item {
        ast::Item::For(f) => vec![&f.body],
        ast::Item::If(i) => vec![&i.then, &i.otherwise],
        _ => return,
    };
    for block in blocks {
        let mut lets: IndexMap<&str, Span> = IndexMap::new();
        for inner in block {
            match inner {
                ast::Item::Stack(_)
                | ast::Item::Type(_)
                | ast::Item::Param(_)
                | ast::Item::Import(_)
                | ast::Item::Fn(_)
                | ast::Item::Moved(_) => {
                    errors.push(errors::not_in_block(inner.describe(), inner.span()));
                }
                ast::Item::Let(l) => {
                    if let Some(first) = lets.insert(&l.name.node, l.name.span) {
                        errors.push(errors::defined_twice(&l.name, "defined again here", first));
                    }
                }
                other => check_block_items(other, errors),
            }
        }
    }
}

/// The directory of a file, `.` for a bare file name.
fn parent_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
