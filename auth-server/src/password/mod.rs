//! Passwords: the bcrypt worker pool and the validators (Django's four, plus bcrypt's 72-byte limit).

pub mod email;
pub mod hasher;
pub mod validation;

pub use hasher::PasswordHasher;
