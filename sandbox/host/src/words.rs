//! `words!`: the snake_case word of each value of a field-less enum (what audit records and
//! traces write, the same as its serde name), its `Display`, and `ALL`, every value, from
//! one list, so no list is kept by hand beside the enum.

macro_rules! words {
    ($($ty:ident { $($variant:ident => $word:literal),* $(,)? })*) => {$(
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The snake_case word.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $word),*
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    )*};
}
