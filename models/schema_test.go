package models_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
	"gorm.io/gorm/schema"
)

// schemaModels are the GORM models whose tables the migrations must create.
var schemaModels = []any{
	&models.User{}, &models.Workspace{}, &models.Membership{}, &models.SessionRow{},
	&models.AuditEvent{}, &models.Token{}, &models.UsageCounter{},
}

// TestSchemaMatchesModels proves that each dialect's SQL migrations create
// every table and column the GORM models read and write, and that every
// column a model does not know about can be left to its default.
func TestSchemaMatchesModels(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		db := s.DB()
		m := db.Migrator()
		for _, model := range schemaModels {
			sch, err := schema.Parse(model, &sync.Map{}, db.NamingStrategy)
			if err != nil {
				t.Fatalf("parse %T: %v", model, err)
			}
			t.Run(sch.Table, func(t *testing.T) {
				if !m.HasTable(model) {
					t.Fatalf("table %s is missing", sch.Table)
				}
				for _, col := range sch.DBNames {
					if !m.HasColumn(model, col) {
						t.Errorf("table %s has no column %s (field %s)", sch.Table, col, sch.LookUpField(col).Name)
					}
				}
				cols, err := m.ColumnTypes(model)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cols {
					if slices.Contains(sch.DBNames, c.Name()) {
						continue
					}
					nullable, _ := c.Nullable()
					_, hasDefault := c.DefaultValue()
					if !nullable && !hasDefault {
						t.Errorf("table %s column %s is NOT NULL without a default but model %T does not set it", sch.Table, c.Name(), model)
					}
				}
			})
		}
		for _, table := range []string{"settings", "schema_migrations"} {
			if !m.HasTable(table) {
				t.Errorf("table %s is missing", table)
			}
		}
	})
}

// TestSchemaRoundTrip writes one row of every model through GORM and reads it
// back, so column types (times, JSON text, nullable pointers) match the Go types.
func TestSchemaRoundTrip(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		db := s.DB()
		now := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)
		u := &models.User{Email: "round@example.com", Name: "Round", PasswordHash: "x"}
		w := &models.Workspace{Name: "Round", Slug: "round", Plan: "standard", AttributeCatalog: []string{"email", "city"}}
		for _, row := range []any{u, w} {
			if err := db.Create(row).Error; err != nil {
				t.Fatalf("create %T: %v", row, err)
			}
		}
		exp := now.Add(time.Hour)
		rows := []any{
			&models.Membership{WorkspaceID: w.ID, UserID: u.ID, Role: models.RoleManager},
			&models.SessionRow{ID: "abc", UserID: u.ID, Data: "d", CreatedAt: now, LastSeenAt: now, ExpiresAt: exp},
			&models.AuditEvent{WorkspaceID: &w.ID, ActorType: "user", Action: "x.y", CreatedAt: now},
			&models.AuditEvent{ActorType: "system", Action: "no.workspace", CreatedAt: now},
			&models.Token{PublicID: "AbCd1234", WorkspaceID: w.ID, Type: "personal", Prefix: "pat", Name: "t",
				CreatedByID: &u.ID, SecretHash: "h", Last4: "wxyz", Scopes: []string{"read"}, ExposedAttributes: []string{}, ExpiresAt: &exp, RecentIPs: []string{"192.0.2.1"}},
		}
		for _, row := range rows {
			if err := db.Omit("User", "Workspace").Create(row).Error; err != nil {
				t.Fatalf("create %T: %v", row, err)
			}
		}
		tok := rows[4].(*models.Token)
		if err := db.Create(&models.UsageCounter{TokenID: tok.ID, Day: "2025-03-04", Endpoint: "GET /x", Outcome: "ok", Count: 3}).Error; err != nil {
			t.Fatalf("create usage counter: %v", err)
		}

		var gotW models.Workspace
		if err := db.First(&gotW, w.ID).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotW.AttributeCatalog, w.AttributeCatalog) {
			t.Errorf("attribute catalogue = %v, want %v", gotW.AttributeCatalog, w.AttributeCatalog)
		}
		var gotS models.SessionRow
		if err := db.First(&gotS, "id = ?", "abc").Error; err != nil {
			t.Fatal(err)
		}
		if !gotS.ExpiresAt.Equal(exp) || !gotS.CreatedAt.Equal(now) {
			t.Errorf("session times = %v / %v, want %v / %v", gotS.CreatedAt, gotS.ExpiresAt, now, exp)
		}
		var gotT models.Token
		if err := db.First(&gotT, tok.ID).Error; err != nil {
			t.Fatal(err)
		}
		if gotT.ExpiresAt == nil || !gotT.ExpiresAt.Equal(exp) || gotT.RevokedAt != nil || *gotT.CreatedByID != u.ID ||
			!slices.Equal(gotT.Scopes, []string{"read"}) || !slices.Equal(gotT.RecentIPs, []string{"192.0.2.1"}) {
			t.Errorf("token read back as %+v", gotT)
		}
		var events []models.AuditEvent
		if err := db.Order("id").Find(&events).Error; err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0].WorkspaceID == nil || *events[0].WorkspaceID != w.ID || events[1].WorkspaceID != nil {
			t.Errorf("audit events read back as %+v", events)
		}
		var uc models.UsageCounter
		if err := db.First(&uc, "token_id = ?", tok.ID).Error; err != nil || uc.Count != 3 {
			t.Errorf("usage counter = %+v, %v", uc, err)
		}
	})
}

// TestMigrateIdempotent applies the migrations again to a migrated database:
// nothing changes and the version stays at the newest file.
func TestMigrateIdempotent(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		list, err := models.Migrations(s.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			t.Fatal("no migrations embedded")
		}
		newest := list[len(list)-1].Version
		for i := range 2 {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate again (%d): %v", i+1, err)
			}
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v != newest {
			t.Errorf("SchemaVersion = %d, want %d", v, newest)
		}
		var n int64
		if err := s.DB().Raw(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != int64(len(list)) {
			t.Errorf("schema_migrations has %d rows, want %d", n, len(list))
		}
	})
}

// TestMigrationsMatchAcrossDialects keeps the two sets of files in step: the
// same versions with the same names.
func TestMigrationsMatchAcrossDialects(t *testing.T) {
	lite, err := models.Migrations(models.DialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := models.Migrations(models.DialectPostgres)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []models.Migration) []string {
		var out []string
		for i, m := range ms {
			if m.Version != i+1 {
				t.Errorf("migration %s: version %d, want %d (no gaps)", m.Name, m.Version, i+1)
			}
			out = append(out, m.Name)
		}
		return out
	}
	if a, b := names(lite), names(pg); !slices.Equal(a, b) {
		t.Errorf("sqlite migrations %v differ from postgres %v", a, b)
	}
}

// TestMigrateConcurrentPostgres: instances that start together on an empty
// PostgreSQL database all come up, and each migration is applied once.
func TestMigrateConcurrentPostgres(t *testing.T) {
	base := os.Getenv("KEYWARD_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("KEYWARD_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	admin := models.OpenTestPostgres(t) // only for its connection; the test uses its own schema
	schemaName := fmt.Sprintf("t_concurrent_%d", time.Now().UnixNano())
	if err := admin.DB().Exec("CREATE SCHEMA " + schemaName).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.DB().Exec("DROP SCHEMA " + schemaName + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schemaName)
	u.RawQuery = q.Encode()

	const n = 6
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			s, err := models.Open(ctx, u.String())
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent start: %v", err)
		}
	}
	list, err := models.Migrations(models.DialectPostgres)
	if err != nil {
		t.Fatal(err)
	}
	var applied int64
	if err := admin.DB().Raw("SELECT COUNT(*) FROM " + schemaName + ".schema_migrations").Scan(&applied).Error; err != nil {
		t.Fatal(err)
	}
	if applied != int64(len(list)) {
		t.Errorf("%d migrations recorded, want %d", applied, len(list))
	}
}
