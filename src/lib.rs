pub mod cloud;
pub mod domain;
pub mod store;
