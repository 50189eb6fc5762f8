mod bad_input;
mod common;
mod crud;
mod history;
mod matrix;
